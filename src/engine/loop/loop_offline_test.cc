// An offline, deterministic check of the loop's learning mechanisms (doc/loop.md sections 5 and
// 6) without the engine: synthetic users with known tastes are shown greedy top-5 lists, examine
// positions by a position-based model and click what they like; closed impressions go to the
// ImpressionLearner (negatives) or the RewardRanker (re-ranking). Each user likes only some of
// the items of their taste group (item i: a share quality_i of the group): a positives-only
// model keeps showing the disliked ones, since the group clicks them; negatives from
// impressions learn the user's aversions, and a reward-trained re-ranker the items' real
// click-through (shown and not clicked counts too). The measured click-through rates are printed
// (see the report of issue 16's learnimp part); the assertions are conservative.
#include <cstdio>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "engine/loop/impression_learner.h"
#include "engine/loop/reward_ranker.h"
#include "model/registry.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

constexpr int kUsers = 80;
constexpr int kItems = 400;
constexpr int kGroups = 4;
constexpr int kSlots = 5;
constexpr int kRounds = 3000;

struct World {
  base::Rng rng{42};
  std::vector<std::vector<uint8_t>> likes;  // [user][item]

  std::vector<double> quality;  // the share of the item's group that likes it

  World() {
    for (int i = 0; i < kItems; ++i) {
      quality.push_back(0.1 + 0.8 * rng.UniformDouble());
    }
    likes.assign(kUsers, std::vector<uint8_t>(kItems, 0));
    for (int u = 0; u < kUsers; ++u) {
      for (int i = u % kGroups; i < kItems; i += kGroups) {
        likes[u][i] = rng.UniformDouble() < quality[i] ? 1 : 0;
      }
    }
  }
  double Click(int u, int i, uint32_t position) const {
    return (likes[u][i] != 0 ? 0.6 : 0.0) / (1.0 + position);  // examination 1 / (1 + p)
  }
};

enum class Mode { kPositivesOnly, kNegatives, kRewardRanker };

// Click-through rate (clicks per shown item) over the second half of the rounds.
double RunLoop(Mode mode) {
  World world;
  auto created = model::CreateRecommender("bpr", {{"dim", "16"}});
  EXPECT_OK(created);
  std::vector<std::unique_ptr<model::Recommender>> models;
  models.push_back(std::move(*created));
  model::Recommender& bpr = *models[0];
  model::UserStateStore users;
  Catalog catalog;
  for (int i = 0; i < kItems; ++i) {
    catalog.EnsureItem(static_cast<ItemIdx>(i), 0);
  }
  ImpressionLearner learner;
  learner.SetSource(&models, &users);
  RewardRanker ranker;
  const std::vector<std::string> names = {"bpr"};
  ranker.SetSource({&catalog, &models, &names, &users});
  auto observe = [&](int u, int i, TimestampMs ts) {
    data::Interaction x;
    x.user = static_cast<UserIdx>(u);
    x.item = static_cast<ItemIdx>(i);
    x.ts_ms = ts;
    x.weight = 1;
    bpr.Observe(x, users.Get(x.user));
    users.Get(x.user).Add(x);
    catalog.CountEvent(x.item, 1, ts);
  };
  // Warm start: every item once, from a user of its group who likes it (the models rank only
  // items they have seen), then five random liked items per user.
  TimestampMs ts = 1000;
  base::Rng warm(9);
  for (int i = 0; i < kItems; ++i) {
    for (int u = i % kGroups; u < kUsers; u += kGroups) {
      if (world.likes[u][i] != 0) {
        observe(u, i, ts++);
        break;
      }
    }
  }
  for (int u = 0; u < kUsers; ++u) {
    for (int n = 0; n < 5; ++n) {
      const int i = static_cast<int>(warm.Uniform(kItems / kGroups)) * kGroups + u % kGroups;
      if (world.likes[u][i] != 0 && !users.Get(static_cast<UserIdx>(u)).HasSeen(i)) {
        observe(u, i, ts++);
      }
    }
  }
  base::Rng rng(7);
  double shown = 0;
  double clicks = 0;
  std::vector<model::ScoredItem> top;
  for (int round = 0; round < kRounds; ++round) {
    ts += 60'000;
    const int u = static_cast<int>(rng.Uniform(kUsers));
    const model::UserState& state = users.Get(static_cast<UserIdx>(u));
    model::RecommendRequest request;
    request.user = static_cast<UserIdx>(u);
    request.k = mode == Mode::kRewardRanker ? 20 : kSlots;
    request.now_ms = ts;
    request.user_state = &state;
    request.exclude = state.seen_items();
    bpr.Recommend(request, &top);
    std::vector<ServeItem> list;
    for (const auto& s : top) {
      ServeItem item;
      item.item = s.item;
      item.score = s.score;
      list.push_back(item);
    }
    if (mode == Mode::kRewardRanker) {
      ServeRequest serve;
      serve.user = request.user;
      serve.now_ms = ts;
      ranker.Rerank(catalog, serve, &list);
    }
    list.resize(std::min<size_t>(list.size(), kSlots));
    ClosedImpression closed;
    closed.user = request.user;
    closed.ts_ms = ts;
    closed.model = "bpr";
    std::vector<int> clicked;
    for (uint32_t p = 0; p < list.size(); ++p) {
      ClosedSlot slot;
      slot.item = list[p].item;
      slot.position = p;
      slot.clicked = rng.UniformDouble() < world.Click(u, static_cast<int>(slot.item), p);
      slot.reward = slot.clicked ? 1 : 0;
      slot.first_lag_ms = slot.clicked ? 1000 : -1;
      closed.slots.push_back(slot);
      if (slot.clicked) {
        clicked.push_back(static_cast<int>(slot.item));
      }
    }
    if (round >= kRounds / 4) {
      shown += static_cast<double>(list.size());
      clicks += static_cast<double>(clicked.size());
    }
    for (int i : clicked) {
      observe(u, i, ts + 1000);
    }
    if (mode == Mode::kNegatives) {
      learner.OnClosed(closed);
    } else if (mode == Mode::kRewardRanker) {
      ranker.OnClosed(closed);
    }
  }
  return shown > 0 ? clicks / shown : 0;
}

TEST(LoopOfflineTest, NegativesAndTheRewardRankerRaiseClickThrough) {
  const double positives_only = RunLoop(Mode::kPositivesOnly);
  const double negatives = RunLoop(Mode::kNegatives);
  const double reward = RunLoop(Mode::kRewardRanker);
  std::printf(
      "offline loop check (bpr, %d users, %d items, %d rounds, after the first quarter): CTR "
      "positives-only %.4f, with negatives %.4f (%.2fx), reward ranker %.4f (%.2fx)\n",
      kUsers, kItems, kRounds, positives_only, negatives, negatives / positives_only, reward,
      reward / positives_only);
  EXPECT_GT(negatives, positives_only * 1.05);
  EXPECT_GT(reward, positives_only * 1.05);
  EXPECT_EQ(RunLoop(Mode::kNegatives), negatives);  // deterministic
}

}  // namespace
}  // namespace flywheel::engine
