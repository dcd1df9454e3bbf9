#include "model/bpr.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "model/baselines.h"
#include "model/model_test_util.h"
#include "model/registry.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

using test::Ev;

// The taste-group stream of model_test_util.h with events 1000 ms apart.
std::vector<data::Interaction> ClusterStream(int users, int items, int groups, int events,
                                             uint64_t seed) {
  return test::GroupedStream(users, items, groups, events, seed, 1000);
}

using ::flywheel::testing::StatusIs;

std::unique_ptr<Bpr> MakeBpr(const BprOptions& options) {
  auto model = Bpr::Create(options);
  EXPECT_OK(model);
  return std::move(*model);
}

void Feed(Recommender& model, UserStateStore& users, std::span<const data::Interaction> evs) {
  for (const auto& e : evs) {
    model.Observe(e, users.Get(e.user));
    users.Get(e.user).Add(e);
  }
}

// HR@10 on `test` (not learned from), excluding each user's seen items; seen targets skipped.
double HitRate(const Recommender& model, const UserStateStore& users,
               std::span<const data::Interaction> test) {
  int scored = 0;
  int hits = 0;
  std::vector<ScoredItem> top;
  for (const auto& e : test) {
    const UserState& state = users.Find(e.user);
    if (state.HasSeen(e.item)) {
      continue;
    }
    RecommendRequest request;
    request.user = e.user;
    request.user_state = &state;
    request.exclude = state.seen_items();
    model.Recommend(request, &top);
    ++scored;
    hits +=
        std::any_of(top.begin(), top.end(), [&](const ScoredItem& s) { return s.item == e.item; })
            ? 1
            : 0;
  }
  return scored == 0 ? 0.0 : static_cast<double>(hits) / scored;
}

// Mean -log sigmoid(x_ui - x_uj) over test events, j a random item of another group.
double HeldOutBprLoss(const Bpr& model, std::span<const data::Interaction> test, int items,
                      int groups) {
  base::Rng rng(99);
  double loss = 0;
  for (const auto& e : test) {
    auto j = static_cast<ItemIdx>(rng.Uniform(static_cast<uint64_t>(items)));
    if (static_cast<int>(j) % groups == static_cast<int>(e.user) % groups) {
      j = (j + 1) % static_cast<ItemIdx>(items);
    }
    const double d = model.Score(e.user, e.item) - model.Score(e.user, j);
    loss += std::log1p(std::exp(-d));
  }
  return loss / static_cast<double>(test.size());
}

constexpr int kUsers = 200;
constexpr int kItems = 400;
constexpr int kGroups = 4;

class BprSamplingTest : public ::testing::TestWithParam<BprSampling> {};

TEST_P(BprSamplingTest, LearnsClustersAndBeatsMostPop) {
  const auto stream = ClusterStream(kUsers, kItems, kGroups, 21000, 7);
  const std::span<const data::Interaction> train(stream.data(), 20000);
  const std::span<const data::Interaction> test(stream.data() + 20000, 1000);
  BprOptions options;
  options.sampling = GetParam();
  options.context = 0;  // HeldOutBprLoss uses Score(), which sees only the user row
  auto bpr = MakeBpr(options);
  const double loss_before = HeldOutBprLoss(*bpr, test, kItems, kGroups);
  MostPop pop;
  UserStateStore users;
  UserStateStore pop_users;
  Feed(*bpr, users, train);
  Feed(pop, pop_users, train);
  const double loss_after = HeldOutBprLoss(*bpr, test, kItems, kGroups);
  const double hr_bpr = HitRate(*bpr, users, test);
  const double hr_pop = HitRate(pop, pop_users, test);
  EXPECT_NEAR(loss_before, std::log(2.0), 0.05);
  EXPECT_LT(loss_after, 0.1) << "before " << loss_before;
  // A user has seen ~63 of their group's 100 items: a perfect model hits ~10/37 = 0.27 (all
  // three modes measured 0.23-0.28), MostPop ~0.02.
  EXPECT_GT(hr_bpr, 0.15) << "loss " << loss_after;
  EXPECT_GT(hr_bpr, 5 * hr_pop) << "pop " << hr_pop;
  EXPECT_EQ(bpr->skipped_non_finite(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllModes, BprSamplingTest,
                         ::testing::Values(BprSampling::kUniform, BprSampling::kPopularity,
                                           BprSampling::kRecent));

// The two ends of the query z_u = p_u + mean e_c: plain MF (context=0) and context only.
TEST(BprTest, PlainMfAndContextOnlyQueriesBothLearn) {
  const auto stream = ClusterStream(kUsers, kItems, kGroups, 21000, 8);
  const std::span<const data::Interaction> train(stream.data(), 20000);
  const std::span<const data::Interaction> test(stream.data() + 20000, 1000);
  MostPop pop;
  UserStateStore pop_users;
  Feed(pop, pop_users, train);
  const double hr_pop = HitRate(pop, pop_users, test);
  for (const auto& [context, user_rows] : {std::pair{0, true}, std::pair{5, false}}) {
    BprOptions options;
    options.context = context;
    options.user_rows = user_rows;
    auto bpr = MakeBpr(options);
    UserStateStore users;
    Feed(*bpr, users, train);
    const double hr = HitRate(*bpr, users, test);
    EXPECT_GT(hr, 0.15) << "context " << context;
    EXPECT_GT(hr, 5 * hr_pop) << "context " << context << " pop " << hr_pop;
  }
  BprOptions empty_query;
  empty_query.context = 0;
  empty_query.user_rows = false;
  EXPECT_THAT(Bpr::Create(empty_query), StatusIs(StatusCode::kInvalidArgument));
}

std::vector<ScoredItem> RecommendAll(const Recommender& model, UserIdx user, const UserState& state,
                                     std::span<const ItemIdx> exclude) {
  RecommendRequest request;
  request.user = user;
  request.k = 1000;
  request.user_state = &state;
  request.exclude = exclude;
  std::vector<ScoredItem> top;
  model.Recommend(request, &top);
  return top;
}

TEST(BprTest, SameSeedSameEventsGiveBitIdenticalModels) {
  const auto stream = ClusterStream(50, 80, kGroups, 3000, 3);
  const std::span<const data::Interaction> history(stream.data(), 1500);
  const std::span<const data::Interaction> online(stream.data() + 1500, 1500);
  BprOptions options;
  options.dim = 12;
  options.sampling = BprSampling::kPopularity;
  options.epochs = 2;
  std::unique_ptr<Bpr> models[2] = {MakeBpr(options), MakeBpr(options)};
  UserStateStore users[2];
  for (int m = 0; m < 2; ++m) {
    ASSERT_OK(models[m]->Fit(history));
    for (const auto& e : history) {
      users[m].Get(e.user).Add(e);
    }
    Feed(*models[m], users[m], online);
  }
  EXPECT_EQ(models[0]->steps(), models[1]->steps());
  for (UserIdx user = 0; user < 50; ++user) {
    const auto a = RecommendAll(*models[0], user, users[0].Find(user), {});
    const auto b = RecommendAll(*models[1], user, users[1].Find(user), {});
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].item, b[i].item);
      EXPECT_EQ(std::bit_cast<uint32_t>(a[i].score), std::bit_cast<uint32_t>(b[i].score));
    }
    EXPECT_EQ(models[0]->UserRow(user), models[1]->UserRow(user));
  }
  for (ItemIdx item = 0; item < 80; ++item) {
    EXPECT_EQ(models[0]->ItemRow(item), models[1]->ItemRow(item));
  }
  // A different seed gives a different model.
  options.seed = 2;
  auto other = MakeBpr(options);
  ASSERT_OK(other->Fit(history));
  EXPECT_NE(other->ItemRow(0), models[0]->ItemRow(0));
}

TEST(BprTest, FitLearnsAsWellAsObserve) {
  const auto stream = ClusterStream(kUsers, kItems, kGroups, 7000, 11);
  const std::span<const data::Interaction> train(stream.data(), 6000);
  const std::span<const data::Interaction> test(stream.data() + 6000, 1000);
  BprOptions options;
  options.epochs = 3;
  auto bpr = MakeBpr(options);
  ASSERT_OK(bpr->Fit(train));
  EXPECT_LT(HeldOutBprLoss(*bpr, test, kItems, kGroups), 0.2);
  UserStateStore users;
  for (const auto& e : train) {
    users.Get(e.user).Add(e);
  }
  EXPECT_GT(HitRate(*bpr, users, test), 0.09);
}

// threads=2 (Hogwild Fit) is not deterministic, so only quality bounds: it must learn about as
// well as threads=1 (measured: both HR@10 about 0.2 here, held-out loss < 0.2).
TEST(BprTest, HogwildFitWithTwoThreadsStillLearns) {
  const auto stream = ClusterStream(kUsers, kItems, kGroups, 7000, 11);
  const std::span<const data::Interaction> train(stream.data(), 6000);
  const std::span<const data::Interaction> test(stream.data() + 6000, 1000);
  UserStateStore users;
  for (const auto& e : train) {
    users.Get(e.user).Add(e);
  }
  double hr[2] = {0, 0};
  for (int threads : {1, 2}) {
    BprOptions options;
    options.epochs = 3;
    options.threads = threads;
    options.context = 0;  // HeldOutBprLoss uses Score(), which sees only the user row
    auto bpr = MakeBpr(options);
    ASSERT_OK(bpr->Fit(train));
    EXPECT_LT(HeldOutBprLoss(*bpr, test, kItems, kGroups), 0.2) << "threads " << threads;
    EXPECT_EQ(bpr->steps(), 3u * 6000u);
    hr[threads - 1] = HitRate(*bpr, users, test);
  }
  EXPECT_GT(hr[1], 0.09);
  EXPECT_GT(hr[1], 0.8 * hr[0]) << "threads=1 " << hr[0];
}

TEST(BprTest, MseModeBeatsGlobalMeanRmse) {
  constexpr int kRatingUsers = 100;
  constexpr int kRatingItems = 100;
  constexpr int kRank = 2;
  base::Rng rng(5);
  std::vector<double> user_bias(kRatingUsers), item_bias(kRatingItems);
  std::vector<double> p(size_t{kRatingUsers} * kRank), q(size_t{kRatingItems} * kRank);
  for (auto* values : {&user_bias, &item_bias}) {
    for (double& v : *values) {
      v = 0.5 * rng.Normal();
    }
  }
  for (auto* values : {&p, &q}) {
    for (double& v : *values) {
      v = 0.8 * rng.Normal();
    }
  }
  std::vector<data::Interaction> train, test;
  for (int u = 0; u < kRatingUsers; ++u) {
    for (int i = 0; i < kRatingItems; ++i) {
      double rating = 3.5 + user_bias[u] + item_bias[i] + 0.1 * rng.Normal();
      for (int k = 0; k < kRank; ++k) {
        rating += p[u * kRank + k] * q[i * kRank + k];
      }
      const auto e =
          Ev(static_cast<UserIdx>(u), static_cast<ItemIdx>(i), 0, 1.0f, static_cast<float>(rating));
      (rng.Bernoulli(0.8) ? train : test).push_back(e);
    }
  }
  BprOptions options;
  options.loss = BprLoss::kMse;
  options.dim = 8;
  options.epochs = 10;
  options.l2 = 1e-3f;
  auto model = MakeBpr(options);
  ASSERT_OK(model->Fit(train));
  double mean = 0;
  for (const auto& e : train) {
    mean += e.value;
  }
  mean /= static_cast<double>(train.size());
  double se_model = 0;
  double se_mean = 0;
  for (const auto& e : test) {
    ASSERT_TRUE(model->PredictRating(e.user, e.item).has_value());
    se_model += std::pow(*model->PredictRating(e.user, e.item) - e.value, 2);
    se_mean += std::pow(mean - e.value, 2);
  }
  const double rmse_model = std::sqrt(se_model / static_cast<double>(test.size()));
  const double rmse_mean = std::sqrt(se_mean / static_cast<double>(test.size()));
  // Measured: 0.12 against 1.14 (the noise alone is 0.1).
  EXPECT_LT(rmse_model, 0.25 * rmse_mean) << "model " << rmse_model << " mean " << rmse_mean;
}

TEST(BprTest, HugeLearningRateNeverGivesNonFiniteScores) {
  const auto stream = ClusterStream(30, 60, kGroups, 2000, 13);
  BprOptions options;
  options.optimizer = embedding::OptimizerKind::kSgd;
  options.lr = 1e20f;
  options.dim = 8;
  auto bpr = MakeBpr(options);
  UserStateStore users;
  Feed(*bpr, users, stream);
  EXPECT_GT(bpr->skipped_non_finite(), 0u);
  for (UserIdx user = 0; user < 30; ++user) {
    const auto top = RecommendAll(*bpr, user, users.Find(user), {});
    EXPECT_EQ(top.size(), 60u);
    for (const auto& s : top) {
      EXPECT_TRUE(std::isfinite(s.score)) << "user " << user << " item " << s.item;
    }
  }
}

TEST(BprTest, RecommendsOnlyKnownNonExcludedItems) {
  BprOptions options;
  options.dim = 4;
  auto bpr = MakeBpr(options);
  UserStateStore users;
  Feed(*bpr, users, {{Ev(0, 0, 1), Ev(0, 5, 2), Ev(1, 9, 3), Ev(1, 5, 4), Ev(2, 2, 5)}});
  EXPECT_EQ(bpr->num_items(), 10u);
  const ItemIdx exclude[] = {5, 42};
  for (UserIdx user : {0u, 1u, 7u}) {  // 7: no row and no history -> popularity
    std::vector<ItemIdx> got;
    for (const auto& s : RecommendAll(*bpr, user, users.Find(user), exclude)) {
      got.push_back(s.item);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<ItemIdx>{0, 2, 9})) << "user " << user;
  }
}

TEST(BprTest, ColdUserIsScoredFromRecentItems) {
  const auto stream = ClusterStream(kUsers, kItems, kGroups, 8000, 17);
  BprOptions options;
  auto bpr = MakeBpr(options);
  UserStateStore users;
  Feed(*bpr, users, stream);
  // A user the model never trained on, whose history holds items of group 1.
  UserState state;
  for (ItemIdx item : {1u, 5u, 9u, 13u}) {
    state.Add(Ev(5000, item, 1));
  }
  const auto top = RecommendAll(*bpr, 5000, state, state.seen_items());
  ASSERT_GE(top.size(), 10u);
  int in_group = 0;
  for (size_t i = 0; i < 10; ++i) {
    in_group += top[i].item % kGroups == 1 ? 1 : 0;
  }
  EXPECT_GE(in_group, 9);
}

TEST(BprTest, DislikePushesScoreDown) {
  BprOptions options;
  options.optimizer = embedding::OptimizerKind::kSgd;
  options.lr = 0.5f;
  options.replay = 0;
  auto bpr = MakeBpr(options);
  UserStateStore users;
  Feed(*bpr, users, {{Ev(0, 1, 1), Ev(1, 2, 2), Ev(0, 3, 3)}});
  const float before = bpr->Score(0, 2);
  Feed(*bpr, users, {{Ev(0, 2, 4, -1.0f)}});
  EXPECT_LT(bpr->Score(0, 2), before);
}

TEST(BprTest, RegistryCreatesBprAndRejectsBadParams) {
  auto made = CreateRecommender(
      "bpr", {{"dim", "8"}, {"sampling", "recent"}, {"loss", "mse"}, {"optimizer", "adam"}});
  ASSERT_OK(made);
  EXPECT_EQ((*made)->name(), "bpr");
  const KeyValues params = (*made)->params();
  auto has = [&](const std::string& key, const std::string& value) {
    return std::find(params.begin(), params.end(), std::make_pair(key, value)) != params.end();
  };
  EXPECT_TRUE(has("dim", "8"));
  EXPECT_TRUE(has("sampling", "recent"));
  EXPECT_TRUE(has("loss", "mse"));
  EXPECT_TRUE(has("optimizer", "adam"));
  EXPECT_TRUE(has("lr", "0.1"));
  EXPECT_TRUE(has("context", "5"));
  EXPECT_EQ(params.size(), 18u);
  const auto known = KnownModels();
  EXPECT_NE(std::find(known.begin(), known.end(), "bpr"), known.end());
  for (const ModelParams& bad : std::vector<ModelParams>{{{"dim", "0"}},
                                                         {{"lr", "-1"}},
                                                         {{"sampling", "zipf"}},
                                                         {{"optimizer", "ftrl"}},
                                                         {{"loss", "hinge"}},
                                                         {{"negatives", "x"}},
                                                         {{"context", "11"}},
                                                         {{"threads", "0"}},
                                                         {{"bogus", "1"}}}) {
    EXPECT_THAT(CreateRecommender("bpr", bad), StatusIs(StatusCode::kInvalidArgument))
        << bad.begin()->first;
  }
}

}  // namespace
}  // namespace flywheel::model
