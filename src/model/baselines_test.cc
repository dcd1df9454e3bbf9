#include "model/baselines.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "model/model_test_util.h"
#include "model/registry.h"
#include "model/sparse_row.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

using test::Ev;

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

// Feeds events through Observe with harness-style user states.
void Feed(Recommender& model, UserStateStore& users, const std::vector<data::Interaction>& evs) {
  for (const auto& e : evs) {
    model.Observe(e, users.Get(e.user));
    users.Get(e.user).Add(e);
  }
}

std::vector<ItemIdx> Items(const std::vector<ScoredItem>& top) {
  std::vector<ItemIdx> out;
  for (const auto& s : top) {
    out.push_back(s.item);
  }
  return out;
}

TEST(SelectTopKTest, OrdersByScoreThenIndexAndSkipsExcluded) {
  std::vector<float> scores = {0.5f,  2.0f, 2.0f,
                               -1.0f, 3.0f, -std::numeric_limits<float>::infinity()};
  const ItemIdx exclude[] = {4, 99};
  std::vector<ScoredItem> top;
  SelectTopK(scores, 3, exclude, &top);
  EXPECT_EQ(Items(top), (std::vector<ItemIdx>{1, 2, 0}));
  EXPECT_FLOAT_EQ(top[0].score, 2.0f);
  std::vector<float> again = {0.5f,  2.0f, 2.0f,
                              -1.0f, 3.0f, -std::numeric_limits<float>::infinity()};
  SelectTopK(again, 10, {}, &top);
  EXPECT_EQ(Items(top), (std::vector<ItemIdx>{4, 1, 2, 0, 3}));  // -inf never returned
  SelectTopK(again, 0, {}, &top);
  EXPECT_TRUE(top.empty());
}

TEST(SparseRowTest, AddGetGrow) {
  SparseRow row;
  for (ItemIdx i = 0; i < 1000; ++i) {
    row.Add(i * 7, 1.0f);
  }
  row.Add(7, 2.5f);
  EXPECT_EQ(row.size(), 1000u);
  EXPECT_FLOAT_EQ(row.Get(7), 3.5f);
  EXPECT_FLOAT_EQ(row.Get(14), 1.0f);
  EXPECT_FLOAT_EQ(row.Get(8), 0.0f);
  double sum = 0;
  size_t n = 0;
  row.ForEach([&](ItemIdx, float v) {
    sum += v;
    ++n;
  });
  EXPECT_EQ(n, 1000u);
  EXPECT_DOUBLE_EQ(sum, 1002.5);
}

TEST(SparseRowTest, AssignEqualsAddingEachEntry) {
  // A sparse row (few keys spread wide) and a dense one (many keys close together): Assign
  // holds the same weights as Add of each, and later Adds work on both.
  for (const ItemIdx stride : {ItemIdx{1000}, ItemIdx{1}}) {
    std::vector<SparseRow::Slot> entries;
    SparseRow added;
    for (ItemIdx i = 0; i < 300; ++i) {
      entries.push_back({i * stride, 0.5f + static_cast<float>(i)});
      added.Add(i * stride, 0.5f + static_cast<float>(i));
    }
    SparseRow assigned;
    assigned.Add(5, 1.0f);  // replaced
    assigned.Assign(entries);
    EXPECT_EQ(assigned.dense(), stride == 1);
    EXPECT_EQ(assigned.size(), added.size());
    for (ItemIdx key = 0; key < 300 * stride + 2; key += (stride == 1 ? 1 : 7)) {
      ASSERT_EQ(assigned.Get(key), added.Get(key)) << key;
    }
    std::vector<float> a(300 * stride + 1, 0.0f);
    std::vector<float> b(a.size(), 0.0f);
    assigned.AddScaledTo(a, 2.0f);
    added.AddScaledTo(b, 2.0f);
    EXPECT_EQ(a, b);
    assigned.Add(3, 1.0f);
    EXPECT_FLOAT_EQ(assigned.Get(3), added.Get(3) + 1.0f);
  }
  SparseRow empty;
  empty.Add(1, 1.0f);
  empty.Assign({});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_FLOAT_EQ(empty.Get(1), 0.0f);
}

TEST(MostPopTest, CountsPositiveEventsAndExcludes) {
  MostPop pop;
  UserStateStore users;
  Feed(pop, users, {Ev(0, 2, 1), Ev(1, 2, 2), Ev(2, 1, 3), Ev(3, 0, 4, -1.0f), Ev(3, 0, 5, -1.0f)});
  UserState empty;
  RecommendRequest request{9, 2, 10, &empty, {}};
  std::vector<ScoredItem> top;
  pop.Recommend(request, &top);
  EXPECT_EQ(Items(top), (std::vector<ItemIdx>{2, 1}));
  EXPECT_FLOAT_EQ(top[0].score, 2.0f);
  const ItemIdx exclude[] = {2};
  request.exclude = exclude;
  pop.Recommend(request, &top);
  EXPECT_EQ(Items(top), (std::vector<ItemIdx>{1, 0}));  // skipped item 0 has count 0
  EXPECT_EQ(pop.num_items(), 3u);
}

TEST(RecentPopTest, DecaysWithHalfLife) {
  RecentPop model(RecentPopOptions{1.0});  // one hour
  UserStateStore users;
  const TimestampMs hour = 3600 * 1000;
  // item 0: 3 events at t=0; item 1: 2 events at t=2h. At t=2h: 3/4 = 0.75 vs 2.
  Feed(model, users,
       {Ev(0, 0, 0), Ev(1, 0, 0), Ev(2, 0, 0), Ev(0, 1, 2 * hour), Ev(1, 1, 2 * hour)});
  UserState empty;
  std::vector<ScoredItem> top;
  model.Recommend(RecommendRequest{5, 2, 2 * hour, &empty, {}}, &top);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].item, 1u);
  EXPECT_NEAR(top[0].score, 2.0, 1e-4);
  EXPECT_NEAR(top[1].score, 0.75, 1e-4);
  // A year later the landmark is rebased many times without overflow; order is kept.
  Feed(model, users, {Ev(3, 0, 24 * 365 * hour)});
  model.Recommend(RecommendRequest{5, 2, 24 * 365 * hour, &empty, {}}, &top);
  EXPECT_EQ(top[0].item, 0u);
  EXPECT_NEAR(top[0].score, 1.0, 1e-3);
  EXPECT_TRUE(std::isfinite(top[1].score));
}

TEST(ItemKnnTest, CosineOnCooccurrenceAndScoring) {
  ItemKnn knn(ItemKnnOptions{50, 20, 0.5});
  UserStateStore users;
  // u0: 0,1,2   u1: 0,1   u2: 1,3   u3: 2 (skip of 0 does not count)
  Feed(knn, users,
       {Ev(0, 0, 1), Ev(0, 1, 2), Ev(0, 2, 3), Ev(1, 0, 4), Ev(1, 1, 5), Ev(2, 1, 6), Ev(2, 3, 7),
        Ev(3, 0, 8, -0.5f), Ev(3, 2, 9), Ev(1, 0, 10)});  // repeat of (1,0) ignored
  // n0 = 2, n1 = 3, n2 = 2, n3 = 1; c01 = 2, c02 = 1, c12 = 1, c13 = 1
  EXPECT_NEAR(knn.Similarity(0, 1), 2.0 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(knn.Similarity(1, 0), 2.0 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(knn.Similarity(0, 2), 1.0 / 2.0, 1e-6);
  EXPECT_NEAR(knn.Similarity(1, 3), 1.0 / std::sqrt(3.0), 1e-6);
  EXPECT_FLOAT_EQ(knn.Similarity(0, 3), 0.0f);
  EXPECT_FLOAT_EQ(knn.Similarity(2, 3), 0.0f);  // u3's skip of 0 made no pair with 2

  // A user who just saw item 3 then item 0: score(i) = sim(0,i) + 0.5 * sim(3,i).
  UserState state;
  state.Add(Ev(7, 3, 20));
  state.Add(Ev(7, 0, 21));
  const ItemIdx exclude[] = {3, 0};
  std::vector<ScoredItem> top;
  knn.Recommend(RecommendRequest{7, 3, 22, &state, exclude}, &top);
  ASSERT_EQ(top.size(), 2u);  // items 1 and 2 (only four items known, two excluded)
  EXPECT_EQ(top[0].item, 1u);
  EXPECT_NEAR(top[0].score, 2.0 / std::sqrt(6.0) + 0.5 / std::sqrt(3.0), 1e-5);
  EXPECT_EQ(top[1].item, 2u);
  EXPECT_NEAR(top[1].score, 0.5, 1e-5);
}

TEST(ItemKnnTest, EmptyHistoryFallsBackToPopularity) {
  ItemKnn knn(ItemKnnOptions{});
  UserStateStore users;
  Feed(knn, users, {Ev(0, 0, 1), Ev(1, 1, 2), Ev(2, 1, 3)});
  UserState empty;
  std::vector<ScoredItem> top;
  knn.Recommend(RecommendRequest{5, 2, 4, &empty, {}}, &top);
  EXPECT_EQ(Items(top), (std::vector<ItemIdx>{1, 0}));
}

TEST(RegistryTest, CreatesAndValidates) {
  for (const auto& name : KnownModels()) {
    auto model = CreateRecommender(name, {});
    ASSERT_OK(model);
    EXPECT_EQ((*model)->name(), name);
  }
  auto knn = CreateRecommender("itemknn", {{"window", "10"}, {"decay", "0.5"}});
  ASSERT_OK(knn);
  EXPECT_EQ((*knn)->params()[0], (std::pair<std::string, std::string>{"window", "10"}));
  EXPECT_THAT(CreateRecommender("magic", {}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("known: pop")));
  EXPECT_THAT(CreateRecommender("itemknn", {{"windw", "3"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown parameter 'windw'")));
  EXPECT_THAT(CreateRecommender("itemknn", {{"decay", "2"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("decay")));
  EXPECT_THAT(CreateRecommender("pop", {{"x", "1"}}), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flywheel::model
