// Recommender::ObserveNegatives in the models that take negatives (bpr, twotower, sasrec;
// doc/loop.md section 5): an ignored item's score drops relative to an untouched one, weight 0
// changes nothing, and the same calls give bit-identical models.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/dot.h"
#include "model/model_test_util.h"
#include "model/recommender.h"
#include "model/registry.h"
#include "model/user_state.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

constexpr int kUsers = 60;
constexpr int kItems = 120;
constexpr int kGroups = 4;

struct Case {
  std::string name;
  ModelParams params;
};

class NegativesTest : public ::testing::TestWithParam<Case> {
 protected:
  std::unique_ptr<Recommender> Trained(UserStateStore* users) const {
    auto model = CreateRecommender(GetParam().name, GetParam().params);
    EXPECT_OK(model);
    std::unique_ptr<Recommender> m = std::move(*model);
    for (const auto& e : test::GroupedStream(kUsers, kItems, kGroups, 2000, 7, 1000)) {
      m->Observe(e, users->Get(e.user));
      users->Get(e.user).Add(e);
    }
    return m;
  }

  // The model's score of `item` for `user` (its retrieval vectors' inner product).
  static float ScoreOf(const Recommender& m, UserIdx user, const UserState& state, ItemIdx item) {
    const size_t dim = m.retrieval_dim();
    std::vector<float> q(dim);
    std::vector<float> v(dim);
    RecommendRequest request;
    request.user = user;
    request.user_state = &state;
    EXPECT_TRUE(m.RetrievalQuery(request, q));
    EXPECT_TRUE(m.RetrievalItem(item, v));
    return base::Dot(q.data(), v.data(), dim);
  }

  // Two unseen items of the user's own taste group: (ignored, untouched).
  static std::pair<ItemIdx, ItemIdx> TwoUnseen(UserIdx user, const UserState& state) {
    std::vector<ItemIdx> found;
    for (ItemIdx i = user % kGroups; i < kItems && found.size() < 2; i += kGroups) {
      if (!state.HasSeen(i)) {
        found.push_back(i);
      }
    }
    EXPECT_EQ(found.size(), 2u);
    return {found[0], found[1]};
  }

  static std::string Bytes(const Recommender& m) {
    std::string out;
    base::ByteWriter w(&out);
    EXPECT_OK(m.SaveState(&w));
    return out;
  }
};

TEST_P(NegativesTest, IgnoredItemDropsRelativeToAnUntouchedItem) {
  UserStateStore users;
  auto m = Trained(&users);
  int dropped = 0;
  for (UserIdx user = 0; user < 8; ++user) {
    const UserState& state = users.Find(user);
    const auto [ignored, untouched] = TwoUnseen(user, state);
    const float before = ScoreOf(*m, user, state, ignored) - ScoreOf(*m, user, state, untouched);
    const std::vector<ItemIdx> items = {ignored};
    const std::vector<float> weights = {1.0f};
    for (int step = 0; step < 5; ++step) {
      m->ObserveNegatives(user, items, weights, 1'000'000 + step, state);
    }
    const float after = ScoreOf(*m, user, state, ignored) - ScoreOf(*m, user, state, untouched);
    dropped += after < before ? 1 : 0;
  }
  EXPECT_EQ(dropped, 8);
}

TEST_P(NegativesTest, ZeroWeightUnknownItemsAndSeenItemsChangeNothing) {
  UserStateStore users;
  auto m = Trained(&users);
  const std::string before = Bytes(*m);
  const UserState& state = users.Find(3);
  const auto [a, b] = TwoUnseen(3, state);
  const std::vector<ItemIdx> items = {a, b, kItems + 50};
  const std::vector<float> weights = {0.0f, 0.0f, 1.0f};  // the third is unknown to the model
  m->ObserveNegatives(3, items, weights, 1'000'000, state);
  m->ObserveNegatives(3, {}, {}, 1'000'000, state);
  EXPECT_EQ(Bytes(*m), before);
}

TEST_P(NegativesTest, SameCallsGiveBitIdenticalModels) {
  UserStateStore users_a;
  UserStateStore users_b;
  auto a = Trained(&users_a);
  auto b = Trained(&users_b);
  for (UserIdx user = 0; user < 10; ++user) {
    const auto [i, j] = TwoUnseen(user, users_a.Find(user));
    const std::vector<ItemIdx> items = {i, j};
    const std::vector<float> weights = {0.7f, 0.3f};
    a->ObserveNegatives(user, items, weights, 2'000'000, users_a.Find(user));
    b->ObserveNegatives(user, items, weights, 2'000'000, users_b.Find(user));
  }
  EXPECT_EQ(Bytes(*a), Bytes(*b));
  UserStateStore users_c;
  EXPECT_NE(Bytes(*a), Bytes(*Trained(&users_c)));  // the negatives did change the model
}

INSTANTIATE_TEST_SUITE_P(
    Models, NegativesTest,
    ::testing::Values(
        Case{"bpr", {{"dim", "16"}}}, Case{"bpr", {{"dim", "16"}, {"context", "0"}}},
        Case{"twotower", {{"dim", "16"}, {"negatives", "4"}}},
        Case{
            "sasrec",
            {{"dim", "16"}, {"blocks", "1"}, {"max_len", "20"}, {"threads", "1"}, {"loss", "bce"}}},
        Case{"sasrec",
             {{"dim", "16"},
              {"blocks", "1"},
              {"max_len", "20"},
              {"threads", "1"},
              {"loss", "sampled"},
              {"negatives", "8"},
              {"content", "1"}}}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return param_info.param.name + std::to_string(param_info.index);
    });

}  // namespace
}  // namespace flywheel::model
