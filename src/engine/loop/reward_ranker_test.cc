#include "engine/loop/reward_ranker.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

constexpr int kItems = 200;
constexpr TimestampMs kDay = 24LL * 3600 * 1000;

// Items in four categories; "good" items (category c0) are clicked far more often.
Catalog MakeCatalog() {
  Catalog catalog;
  for (int i = 0; i < kItems; ++i) {
    Item item;
    item.id = "i" + std::to_string(i);
    item.categories = {"c" + std::to_string(i % 4)};
    item.created_ms = kDay * (i % 10);
    catalog.PutItem(static_cast<ItemIdx>(i), item, kDay * 10);
  }
  return catalog;
}

// True click probability: category c0 items 0.5, others 0.08, times 1 / (1 + position).
double TrueClick(ItemIdx item, uint32_t position) {
  return (item % 4 == 0 ? 0.5 : 0.08) / (1.0 + position);
}

// Random lists of 6 items with a uniform random order (propensity 1/6 per slot).
ClosedImpression RandomList(base::Rng* rng, UserIdx user, TimestampMs ts) {
  ClosedImpression c;
  c.user = user;
  c.ts_ms = ts;
  for (uint32_t p = 0; p < 6; ++p) {
    ClosedSlot s;
    s.item = static_cast<ItemIdx>(rng->Uniform(kItems));
    s.position = p;
    s.propensity = 1.0 / 6;
    s.clicked = rng->UniformDouble() < TrueClick(s.item, p);
    s.reward = s.clicked ? 1.0 : 0.0;
    c.slots.push_back(s);
  }
  return c;
}

// Area under the ROC curve of `scores` against `labels`.
double Auc(std::vector<std::pair<double, bool>> scored) {
  std::sort(scored.begin(), scored.end());
  double positives = 0;
  double rank_sum = 0;
  for (size_t i = 0; i < scored.size(); ++i) {
    if (scored[i].second) {
      positives += 1;
      rank_sum += static_cast<double>(i + 1);
    }
  }
  const double negatives = static_cast<double>(scored.size()) - positives;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

std::string Bytes(const RewardRanker& ranker) {
  std::string out;
  base::ByteWriter w(&out);
  ranker.Save(&w);
  return out;
}

TEST(RewardRankerTest, LearnsAKnownRewardFunctionWellAboveChance) {
  const Catalog catalog = MakeCatalog();
  RewardRanker ranker;
  RewardRanker::View view;
  view.catalog = &catalog;
  base::Rng rng(11);
  for (int n = 0; n < 6000; ++n) {
    ranker.Learn(view, RandomList(&rng, static_cast<UserIdx>(n % 50), kDay * 20 + n * 1000));
  }
  // Held out: predicted P(reward) of each shown item at its position against its click (the
  // list's score feature as Learn computes it without a model: minus the position, standardised).
  std::vector<std::pair<double, bool>> scored;
  for (int n = 0; n < 3000; ++n) {
    const ClosedImpression list = RandomList(&rng, 999, kDay * 30);
    for (const ClosedSlot& s : list.slots) {
      const auto z = static_cast<float>((2.5 - s.position) / std::sqrt(35.0 / 12.0));
      const auto position = static_cast<float>(std::log2(1.0 + s.position));
      const RewardFeatures f =
          ranker.Features(catalog, 999, nullptr, s.item, z, position, list.ts_ms);
      scored.emplace_back(ranker.Predict(f), s.clicked);
    }
  }
  const double auc = Auc(scored);
  std::printf("reward ranker: held-out AUC %.3f\n", auc);
  EXPECT_GT(auc, 0.7) << auc;
  // Serving: good items first, whatever the model's order.
  ServeRequest request;
  request.user = 5;
  request.now_ms = kDay * 30;
  std::vector<ServeItem> items;
  for (ItemIdx i = 1; i <= 8; ++i) {
    ServeItem item;
    item.item = i;
    item.score = static_cast<float>(10 - i);  // the model prefers 1, 2, 3, ...
    items.push_back(item);
  }
  ranker.Rerank(catalog, request, &items);
  EXPECT_EQ(items[0].item % 4, 0u);
  EXPECT_EQ(items[1].item % 4, 0u);
  EXPECT_GT(items[0].score, items[7].score);
}

TEST(RewardRankerTest, FreshRankerKeepsTheModelsOrder) {
  const Catalog catalog = MakeCatalog();
  RewardRanker ranker;
  ServeRequest request;
  request.user = 1;
  request.now_ms = kDay * 30;
  std::vector<ServeItem> items;
  for (ItemIdx i = 0; i < 10; ++i) {
    ServeItem item;
    item.item = (i * 7) % kItems;
    item.score = static_cast<float>(100 - 3 * i);
    items.push_back(item);
  }
  const std::vector<ServeItem> before = items;
  ranker.Rerank(catalog, request, &items);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].item, before[i].item);
  }
}

TEST(RewardRankerTest, ImportanceWeightsAreCappedAndDiscounted) {
  RewardRankerOptions options;
  options.weight_cap = 20;
  options.discount = 0.9;
  RewardRanker ranker(options);
  EXPECT_DOUBLE_EQ(ranker.ExampleWeight(1e-6, 0), 20.0);
  EXPECT_DOUBLE_EQ(ranker.ExampleWeight(0.5, 0), 2.0);
  EXPECT_DOUBLE_EQ(ranker.ExampleWeight(0.5, 2), 2.0 * 0.81);
  EXPECT_DOUBLE_EQ(ranker.ExampleWeight(std::nan(""), 0), 1.0);
  // A tiny propensity learns exactly like one at the cap.
  const Catalog catalog = MakeCatalog();
  RewardRanker::View view;
  view.catalog = &catalog;
  RewardRanker a(options);
  RewardRanker b(options);
  base::Rng rng(2);
  for (int n = 0; n < 50; ++n) {
    ClosedImpression list = RandomList(&rng, 3, kDay * 20 + n);
    ClosedImpression capped = list;
    for (size_t s = 0; s < list.slots.size(); ++s) {
      list.slots[s].propensity = 1e-9;
      capped.slots[s].propensity = 1.0 / 20;
    }
    a.Learn(view, list);
    b.Learn(view, capped);
  }
  EXPECT_EQ(Bytes(a), Bytes(b));
  EXPECT_FALSE(ValidateRewardRankerOptions({.weight_cap = 0.5}).ok());
  EXPECT_FALSE(ValidateRewardRankerOptions({.discount = 0}).ok());
  EXPECT_OK(ValidateRewardRankerOptions(options));
}

TEST(RewardRankerTest, HorizonLimitsThePositionsLearnedFrom) {
  const Catalog catalog = MakeCatalog();
  RewardRanker::View view;
  view.catalog = &catalog;
  RewardRankerOptions options;
  options.horizon = 2;
  RewardRanker ranker(options);
  base::Rng rng(4);
  ranker.Learn(view, RandomList(&rng, 1, kDay * 20));
  EXPECT_EQ(ranker.updates(), 2u);
}

TEST(RewardRankerTest, StateRoundTripsDeterministically) {
  const Catalog catalog = MakeCatalog();
  RewardRanker::View view;
  view.catalog = &catalog;
  RewardRanker a;
  RewardRanker b;
  base::Rng rng_a(8);
  base::Rng rng_b(8);
  for (int n = 0; n < 500; ++n) {
    a.Learn(view, RandomList(&rng_a, static_cast<UserIdx>(n % 7), kDay * 20 + n * 60000));
    b.Learn(view, RandomList(&rng_b, static_cast<UserIdx>(n % 7), kDay * 20 + n * 60000));
  }
  const std::string bytes = Bytes(a);
  EXPECT_EQ(bytes, Bytes(b));
  RewardRanker loaded;
  base::ByteReader r(bytes, "test");
  ASSERT_OK(loaded.Load(&r));
  EXPECT_OK(r.ExpectEnd());
  EXPECT_EQ(Bytes(loaded), bytes);
  EXPECT_EQ(loaded.UserRate(3, kDay * 21), a.UserRate(3, kDay * 21));
  EXPECT_NE(a.UserRate(3, kDay * 21), a.UserRate(12345, kDay * 21));
  a.ForgetUser(3);
  EXPECT_EQ(a.UserRate(3, kDay * 21), a.UserRate(12345, kDay * 21));

  RewardRanker bad;
  base::ByteReader truncated(std::string_view(bytes).substr(0, bytes.size() - 3), "test");
  EXPECT_FALSE(bad.Load(&truncated).ok());
  RewardRankerOptions other;
  other.hash_bits = 10;
  RewardRanker mismatched(other);
  base::ByteReader again(bytes, "test");
  EXPECT_FALSE(mismatched.Load(&again).ok());
}

}  // namespace
}  // namespace flywheel::engine
