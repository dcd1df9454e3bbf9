// StatsHistory: interval samples from cumulative readings, the ring buffer's order and bound,
// and the JSON of GET /v1/stats/history.
#include "server/stats_history.h"

#include <gtest/gtest.h>

namespace flywheel::server {
namespace {

using nlohmann::json;

StatsReading Reading(int64_t t_ms) {
  StatsReading r;
  r.t_ms = t_ms;
  r.engine = true;
  return r;
}

TEST(StatsHistoryTest, SampleIsTheIntervalNotTheTotal) {
  base::AtomicHistogram latency;
  base::AtomicHistogram freshness;
  for (int i = 0; i < 100; ++i) {
    latency.Add(1000.0);  // a slow past that must not show in the interval
  }
  StatsReading before = Reading(10'000);
  before.events = 100;
  before.recommendations = 100;
  before.recommend_latency = latency.Snapshot();
  before.freshness = freshness.Snapshot();
  before.lists = 50;
  before.hits = 50;
  for (int i = 0; i < 10; ++i) {
    latency.Add(2.0);
    freshness.Add(5.0);
  }
  StatsReading after = Reading(12'000);
  after.events = 140;
  after.recommendations = 110;
  after.recommend_latency = latency.Snapshot();
  after.freshness = freshness.Snapshot();
  after.lists = 54;
  after.hits = 51;
  const StatsSample s = SampleBetween(before, after);
  EXPECT_EQ(s.t_ms, 12'000);
  EXPECT_DOUBLE_EQ(*s.events_per_s, 20.0);
  EXPECT_DOUBLE_EQ(*s.recommendations_per_s, 5.0);
  EXPECT_NEAR(*s.recommend_p50_ms, 2.0, 0.2);
  EXPECT_NEAR(*s.recommend_p99_ms, 2.0, 0.2);
  EXPECT_NEAR(*s.freshness_p99_ms, 5.0, 0.5);
  EXPECT_DOUBLE_EQ(*s.live_hr10, 0.25);
}

TEST(StatsHistoryTest, NullWhereTheIntervalHasNoData) {
  StatsSample s = SampleBetween(Reading(0), Reading(2000));
  EXPECT_DOUBLE_EQ(*s.events_per_s, 0.0);
  EXPECT_DOUBLE_EQ(*s.recommendations_per_s, 0.0);
  EXPECT_FALSE(s.recommend_p50_ms);
  EXPECT_FALSE(s.recommend_p99_ms);
  EXPECT_FALSE(s.freshness_p99_ms);
  EXPECT_FALSE(s.live_hr10);
  // No engine at either end: no engine values.
  StatsReading recovering = Reading(2000);
  recovering.engine = false;
  s = SampleBetween(Reading(0), recovering);
  EXPECT_FALSE(s.events_per_s);
  EXPECT_TRUE(s.recommendations_per_s);
  // A zero-length interval: nothing at all.
  s = SampleBetween(Reading(2000), Reading(2000));
  EXPECT_EQ(s.t_ms, 2000);
  EXPECT_FALSE(s.events_per_s);
  EXPECT_FALSE(s.recommendations_per_s);
}

TEST(StatsHistoryTest, RingKeepsTheNewestOldestFirst) {
  StatsHistory h(/*capacity=*/3, /*interval_s=*/2);
  EXPECT_TRUE(h.Samples().empty());
  for (int i = 1; i <= 5; ++i) {
    StatsSample s;
    s.t_ms = i;
    s.events_per_s = i * 10.0;
    h.Add(s);
    ASSERT_EQ(h.Samples().size(), static_cast<size_t>(std::min(i, 3)));
    EXPECT_EQ(h.Samples().back().t_ms, i);
  }
  const auto samples = h.Samples();
  EXPECT_EQ(samples[0].t_ms, 3);
  EXPECT_EQ(samples[1].t_ms, 4);
  EXPECT_EQ(samples[2].t_ms, 5);
}

TEST(StatsHistoryTest, JsonHasOneArrayPerFieldWithNulls) {
  StatsHistory h;
  EXPECT_EQ(h.capacity(), 1800u);
  StatsSample a;
  a.t_ms = 1000;
  a.events_per_s = 3.5;
  a.recommendations_per_s = 0.0;
  StatsSample b;
  b.t_ms = 3000;
  b.live_hr10 = 0.5;
  h.Add(a);
  h.Add(b);
  const json j = h.ToJson();
  EXPECT_EQ(j["interval_s"], 2);
  EXPECT_EQ(j["t"], json::array({1000, 3000}));
  EXPECT_EQ(j["events_per_s"], json::array({3.5, nullptr}));
  EXPECT_EQ(j["recommendations_per_s"], json::array({0.0, nullptr}));
  EXPECT_EQ(j["recommend_p50_ms"], json::array({nullptr, nullptr}));
  EXPECT_EQ(j["recommend_p99_ms"], json::array({nullptr, nullptr}));
  EXPECT_EQ(j["freshness_p99_ms"], json::array({nullptr, nullptr}));
  EXPECT_EQ(j["live_hr10"], json::array({nullptr, 0.5}));
}

}  // namespace
}  // namespace flywheel::server
