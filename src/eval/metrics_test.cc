#include "eval/metrics.h"

#include <cmath>

#include <gtest/gtest.h>

#include "eval/latency.h"
#include "eval/options.h"
#include "testing/status_matchers.h"

namespace flywheel::eval {
namespace {

using model::ScoredItem;

std::vector<ScoredItem> List(std::initializer_list<ItemIdx> items) {
  std::vector<ScoredItem> out;
  float score = 10;
  for (ItemIdx item : items) {
    out.push_back(ScoredItem{item, score--});
  }
  return out;
}

TEST(MetricsTest, RankAndSingleTargetMetricsByHand) {
  const auto top = List({7, 3, 9, 1});
  EXPECT_EQ(RankOf(top, 7, 10), 1);
  EXPECT_EQ(RankOf(top, 9, 10), 3);
  EXPECT_EQ(RankOf(top, 9, 2), 0);  // outside the first k
  EXPECT_EQ(RankOf(top, 5, 10), 0);
  HitAccumulator acc;
  acc.Add(1);  // hit at rank 1: ndcg 1, rr 1
  acc.Add(3);  // hit at rank 3: ndcg 1/log2(4) = 0.5, rr 1/3
  acc.Add(0);  // miss
  acc.Add(0);  // miss
  EXPECT_EQ(acc.count(), 4);
  EXPECT_DOUBLE_EQ(acc.hr(), 0.5);
  EXPECT_DOUBLE_EQ(acc.ndcg(), (1.0 + 0.5) / 4);
  EXPECT_DOUBLE_EQ(acc.mrr(), (1.0 + 1.0 / 3) / 4);
  EXPECT_DOUBLE_EQ(NdcgOfRank(7), 1.0 / 3.0);  // log2(8) = 3
}

TEST(MetricsTest, SetMetricsByHand) {
  // K = 4, list 7,3,9,1; relevant {3, 1, 42}: hits at ranks 2 and 4.
  const auto top = List({7, 3, 9, 1});
  const std::unordered_set<ItemIdx> targets = {3, 1, 42};
  const SetMetrics m = ScoreAgainstSet(top, 4, targets);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 4);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3));
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_DOUBLE_EQ(m.ndcg, dcg / idcg);
  const SetMetrics none = ScoreAgainstSet(top, 4, {99});
  EXPECT_DOUBLE_EQ(none.precision, 0.0);
  EXPECT_DOUBLE_EQ(none.f1, 0.0);
  EXPECT_DOUBLE_EQ(none.ndcg, 0.0);
  const SetMetrics perfect = ScoreAgainstSet(List({3, 1}), 2, {1, 3});
  EXPECT_DOUBLE_EQ(perfect.ndcg, 1.0);
  EXPECT_DOUBLE_EQ(perfect.recall, 1.0);
}

TEST(MetricsTest, RatingErrorsByHand) {
  RatingErrorAccumulator acc;
  acc.Add(3.0, 4.0);  // error -1
  acc.Add(5.0, 2.0);  // error 3
  acc.Add(2.5, 2.5);  // error 0
  EXPECT_EQ(acc.count(), 3);
  EXPECT_DOUBLE_EQ(acc.rmse(), std::sqrt((1.0 + 9.0 + 0.0) / 3));
  EXPECT_DOUBLE_EQ(acc.mae(), (1.0 + 3.0 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(RatingErrorAccumulator().rmse(), 0.0);
}

TEST(MetricsTest, Coverage) {
  CoverageCounter coverage;
  coverage.Add(List({1, 2}));
  coverage.Add(List({2, 5}));
  EXPECT_EQ(coverage.distinct(), 3u);
  EXPECT_DOUBLE_EQ(coverage.Coverage(10), 0.3);
  EXPECT_DOUBLE_EQ(coverage.Coverage(0), 0.0);
}

TEST(MetricsTest, PopularityPercentileMatchesBruteForce) {
  PopularityPercentile pop;
  std::vector<int64_t> counts(50, 0);
  uint64_t state = 12345;
  for (int step = 0; step < 3000; ++step) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const auto item = static_cast<ItemIdx>((state >> 33) % 50 * ((state >> 20) % 3 == 0 ? 1 : 0));
    pop.Increment(item);
    ++counts[item];
    if (step % 97 != 0) {
      continue;
    }
    size_t known = 0;
    for (int64_t c : counts) {
      known += c > 0 ? 1 : 0;
    }
    for (ItemIdx probe = 0; probe < 50; ++probe) {
      size_t below = 0;
      for (int64_t c : counts) {
        below += (c > 0 && c < counts[probe]) ? 1 : 0;
      }
      const double expected = known > 1
                                  ? static_cast<double>(below) / static_cast<double>(known - 1)
                                  : (counts[probe] > 0 ? 1.0 : 0.0);
      ASSERT_DOUBLE_EQ(pop.Percentile(probe), expected) << "step " << step << " item " << probe;
    }
  }
}

TEST(LatencyTest, QuantilesWithinBucketResolution) {
  LatencyHistogram hist;
  for (int i = 1; i <= 1000; ++i) {
    hist.Add(i * 0.001);  // 1 us .. 1 ms
  }
  EXPECT_EQ(hist.count(), 1000);
  EXPECT_NEAR(hist.Quantile(0.5), 0.5, 0.5 * 0.06);
  EXPECT_NEAR(hist.Quantile(0.99), 0.99, 0.99 * 0.06);
  EXPECT_NEAR(hist.mean_ms(), 0.5005, 1e-9);
  const auto json = hist.ToJson();
  int64_t total = 0;
  for (const auto& c : json["hist"]["counts"]) {
    total += c.get<int64_t>();
  }
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(json["hist"]["bounds_ms"].size(), json["hist"]["counts"].size());
  EXPECT_EQ(LatencyHistogram().Quantile(0.5), 0.0);
}

TEST(OptionsTest, ParsesProtocolsModesAndFilters) {
  EXPECT_EQ(*ParseProtocol("loo"), Protocol::kLeaveLastOut);
  EXPECT_FALSE(ParseProtocol("random").ok());
  auto daily = UpdateMode::Parse("retrain:daily");
  ASSERT_OK(daily);
  EXPECT_EQ(daily->period_ms, 86400000);
  EXPECT_EQ(daily->ToString(), "retrain:86400s");
  EXPECT_EQ(UpdateMode::Parse("retrain:12h")->period_ms, 12 * 3600000);
  EXPECT_FALSE(UpdateMode::Parse("retrain:soon").ok());
  EXPECT_FALSE(UpdateMode::Parse("sometimes").ok());

  const EventTypeTable types = EventTypeTable::Default();
  data::Interaction rating;
  rating.type = *types.Find("rating");
  rating.value = 4;
  data::Interaction low = rating;
  low.value = 3.5f;
  data::Interaction view;
  view.type = *types.Find("view");
  data::Interaction skip;
  skip.type = *types.Find("skip");
  skip.weight = -0.5f;
  auto r4 = PositiveFilter::Parse("rating>=4", types);
  ASSERT_OK(r4);
  EXPECT_TRUE(r4->Accept(rating));
  EXPECT_FALSE(r4->Accept(low));
  EXPECT_TRUE(r4->Accept(view));
  EXPECT_FALSE(r4->Accept(skip));
  auto buys = PositiveFilter::Parse("types:purchase,cart", types);
  ASSERT_OK(buys);
  EXPECT_FALSE(buys->Accept(view));
  data::Interaction buy;
  buy.type = *types.Find("buy");
  EXPECT_TRUE(buys->Accept(buy));
  auto all = PositiveFilter::Parse("all", types);
  EXPECT_TRUE(all->Accept(view));
  EXPECT_FALSE(all->Accept(skip));
  EXPECT_FALSE(PositiveFilter::Parse("types:teleport", types).ok());
  EXPECT_FALSE(PositiveFilter::Parse("good ones", types).ok());
}

}  // namespace
}  // namespace flywheel::eval
