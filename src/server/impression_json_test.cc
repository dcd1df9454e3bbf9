#include "server/impression_json.h"

#include <gtest/gtest.h>

namespace flywheel::server {
namespace {

TEST(ImpressionJsonTest, RatesPerListAndPerPosition) {
  ImpressionStats s;
  s.recorded = 5;
  s.closed = 4;
  s.clicked = 1;
  s.reward_sum = 6.0;
  s.positions[0] = {4, 1, 5.0};
  s.positions[1] = {4, 0, 1.0};
  s.lag_bounds_ms = {1000, 2000};
  s.lag_counts = {1, 2, 1};
  s.lag_sum_ms = 8000;
  s.window_passed = 3;
  const nlohmann::json j = ImpressionStatsJson(s);
  EXPECT_DOUBLE_EQ(j["ctr"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["reward_per_list"].get<double>(), 1.5);
  EXPECT_EQ(j["unattributed"]["window_passed"], 3);
  ASSERT_EQ(j["positions"].size(), ImpressionStats::kPositionBuckets);
  EXPECT_EQ(j["positions"][0]["position"], "0");
  EXPECT_DOUBLE_EQ(j["positions"][0]["ctr"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j["positions"][0]["reward_per_item"].get<double>(), 1.25);
  EXPECT_TRUE(j["positions"][2]["ctr"].is_null());
  EXPECT_EQ(j["positions"][10]["position"], "10+");
  EXPECT_EQ(j["attribution_lag_ms"]["count"], 4);
  EXPECT_DOUBLE_EQ(j["attribution_lag_ms"]["mean"].get<double>(), 2000.0);
  ASSERT_EQ(j["attribution_lag_ms"]["buckets"].size(), 3u);
  EXPECT_EQ(j["attribution_lag_ms"]["buckets"][1]["le_ms"], 2000);
  EXPECT_TRUE(j["attribution_lag_ms"]["buckets"][2]["le_ms"].is_null());
  // Nothing closed: null rates, not NaN.
  const nlohmann::json empty = ImpressionStatsJson(ImpressionStats{});
  EXPECT_TRUE(empty["ctr"].is_null());
  EXPECT_TRUE(empty["reward_per_list"].is_null());
  EXPECT_TRUE(empty["attribution_lag_ms"]["mean"].is_null());
}

}  // namespace
}  // namespace flywheel::server
