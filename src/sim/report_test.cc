#include "sim/report.h"

#include <gtest/gtest.h>

namespace flywheel::sim {
namespace {

constexpr TimestampMs kHour = 3'600'000;

TEST(FirstClickTrackerTest, CountsHoursFromArrivalAndCensorsNeverClickedItems) {
  FirstClickTracker tracker;
  tracker.Arrived(3, 0);
  tracker.Arrived(5, 10 * kHour);
  tracker.Arrived(9, 20 * kHour);
  EXPECT_FALSE(tracker.Clicked(4, kHour));  // not a new item
  EXPECT_TRUE(tracker.Clicked(3, 2 * kHour));
  EXPECT_FALSE(tracker.Clicked(3, 3 * kHour));  // not the first
  EXPECT_TRUE(tracker.Clicked(5, 16 * kHour));
  const FirstClickTracker::Summary s = tracker.Summarise(48 * kHour);
  EXPECT_EQ(s.items, 3);
  EXPECT_EQ(s.clicked, 2);
  EXPECT_EQ(s.never_clicked, 1);
  // 2 h, 6 h, and 28 h for item 9 (never clicked: to the end).
  EXPECT_DOUBLE_EQ(s.mean_hours, (2.0 + 6.0 + 28.0) / 3);
  EXPECT_DOUBLE_EQ(s.median_hours, 6.0);
  EXPECT_DOUBLE_EQ(s.mean_hours_clicked, 4.0);
}

TEST(FirstClickTrackerTest, EmptyAndEvenCounts) {
  FirstClickTracker tracker;
  EXPECT_EQ(tracker.Summarise(kHour).items, 0);
  EXPECT_DOUBLE_EQ(tracker.Summarise(kHour).mean_hours, 0.0);
  tracker.Arrived(1, 0);
  tracker.Arrived(2, 0);
  tracker.Arrived(1, 5 * kHour);  // arrives once
  tracker.Clicked(1, kHour);
  tracker.Clicked(2, 3 * kHour);
  const FirstClickTracker::Summary s = tracker.Summarise(10 * kHour);
  EXPECT_EQ(s.items, 2);
  EXPECT_DOUBLE_EQ(s.median_hours, 2.0);
}

TEST(PeriodStatsTest, DerivedRates) {
  PeriodStats s;
  s.day = 2;
  s.requests = 4;
  s.shown = 40;
  s.clicks = 6;
  s.lists_clicked = 3;
  s.reward = 11;
  s.expected_reward = 9;
  s.oracle_expected_reward = 12;
  s.catalogue = 100;
  s.distinct_shown = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(s.ctr(), 0.15);
  EXPECT_DOUBLE_EQ(s.list_ctr(), 0.75);
  EXPECT_DOUBLE_EQ(s.coverage(), 0.05);
  EXPECT_DOUBLE_EQ(s.regret(), 3.0);
  const nlohmann::json j = s.ToJson();
  EXPECT_EQ(j["day"], 2);
  EXPECT_DOUBLE_EQ(j["reward_per_list"].get<double>(), 2.75);
  EXPECT_DOUBLE_EQ(j["regret_per_list"].get<double>(), 0.75);
  EXPECT_EQ(j["distinct_shown"], 5);
  EXPECT_DOUBLE_EQ(PeriodStats().ctr(), 0.0);
}

}  // namespace
}  // namespace flywheel::sim
