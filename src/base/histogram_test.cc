#include "base/histogram.h"

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flywheel::base {
namespace {

TEST(AtomicHistogramTest, QuantilesWithinBucketResolution) {
  AtomicHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0.0);
  for (int i = 1; i <= 1000; ++i) {
    h.Add(static_cast<double>(i) * 0.01);  // 0.01 .. 10 ms, uniform
  }
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_NEAR(h.Quantile(0.5), 5.0, 0.5);
  EXPECT_NEAR(h.Quantile(0.99), 9.9, 1.0);
  EXPECT_NEAR(h.sum_ms(), 5005.0, 1.0);
}

TEST(AtomicHistogramTest, ConcurrentAddsAreAllCounted) {
  AtomicHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.Add(0.5);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(h.count(), 40000u);
}

TEST(AtomicHistogramTest, SnapshotDifferenceIsTheIntervalHistogram) {
  AtomicHistogram h;
  for (int i = 0; i < 1000; ++i) {
    h.Add(100.0);
  }
  const AtomicHistogram::Counts before = h.Snapshot();
  for (int i = 0; i < 10; ++i) {
    h.Add(1.0);
  }
  AtomicHistogram::Counts delta = h.Snapshot();
  uint64_t total = 0;
  for (size_t i = 0; i < delta.size(); ++i) {
    delta[i] -= before[i];
    total += delta[i];
  }
  EXPECT_EQ(total, 10u);
  EXPECT_NEAR(AtomicHistogram::QuantileOf(delta, 0.99), 1.0, 0.1);
  EXPECT_NEAR(h.Quantile(0.5), 100.0, 10.0);  // the cumulative one is still dominated by 100
  EXPECT_EQ(AtomicHistogram::QuantileOf(AtomicHistogram::Counts{}, 0.5), 0.0);
}

TEST(AtomicHistogramTest, PrometheusBucketsAreCumulative) {
  AtomicHistogram h;
  h.Add(0.002);
  h.Add(5.0);
  const std::string text = h.Prometheus("x_seconds", "route=\"a\"");
  EXPECT_THAT(text, ::testing::HasSubstr("x_seconds_bucket{route=\"a\",le=\"+Inf\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("x_seconds_count{route=\"a\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("x_seconds_sum{route=\"a\"} 0.005002"));
}

}  // namespace
}  // namespace flywheel::base
