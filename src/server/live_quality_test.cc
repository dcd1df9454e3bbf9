// LiveQuality (the live hit rate: each served list scored once by the user's next positive
// event) and ItemCounters, including their bounds and concurrent use.
#include "server/live_quality.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace flywheel::server {
namespace {

std::vector<std::string> List(int n, const std::string& prefix = "i") {
  std::vector<std::string> items;
  for (int i = 0; i < n; ++i) {
    items.push_back(prefix + std::to_string(i));
  }
  return items;
}

TEST(LiveQualityTest, NextPositiveEventScoresTheListOnce) {
  LiveQuality q;
  EXPECT_FALSE(q.Positive("u1", "i3").scored);  // no list served yet
  q.Served("u1", List(10));
  LiveQuality::Outcome o = q.Positive("u1", "i3");
  EXPECT_TRUE(o.scored);
  EXPECT_TRUE(o.hit);
  EXPECT_TRUE(o.in_list);
  o = q.Positive("u1", "i4");  // the same list again: not scored, still in the list
  EXPECT_FALSE(o.scored);
  EXPECT_FALSE(o.hit);
  EXPECT_TRUE(o.in_list);
  q.Served("u1", List(10));
  o = q.Positive("u1", "other");
  EXPECT_TRUE(o.scored);
  EXPECT_FALSE(o.hit);
  EXPECT_FALSE(o.in_list);
  EXPECT_EQ(q.totals().lists, 2u);
  EXPECT_EQ(q.totals().hits, 1u);
}

TEST(LiveQualityTest, OnlyTheFirstTenItemsAreHits) {
  LiveQuality q;
  q.Served("u1", List(30));
  LiveQuality::Outcome o = q.Positive("u1", "i10");  // 11th
  EXPECT_TRUE(o.scored);
  EXPECT_FALSE(o.hit);
  EXPECT_TRUE(o.in_list);
  q.Served("u2", List(30));
  EXPECT_TRUE(q.Positive("u2", "i9").hit);  // 10th
  // Beyond kRemembered the items are not remembered at all.
  q.Served("u3", List(150));
  EXPECT_FALSE(q.Positive("u3", "i120").in_list);
  EXPECT_EQ(q.totals().lists, 3u);
  EXPECT_EQ(q.totals().hits, 1u);
}

TEST(LiveQualityTest, LeastRecentlyServedUsersAreForgotten) {
  LiveQuality q(/*max_users=*/32);  // 2 per shard
  EXPECT_EQ(q.max_users(), 32u);
  for (int u = 0; u < 1000; ++u) {
    q.Served("u" + std::to_string(u), List(3));
  }
  EXPECT_LE(q.users(), 32u);
  EXPECT_GT(q.users(), 0u);
  // The most recent user of each shard is kept; the first ones are gone.
  EXPECT_TRUE(q.Positive("u999", "i0").hit);
  EXPECT_FALSE(q.Positive("u0", "i0").scored);
}

TEST(LiveQualityTest, ConcurrentUseCountsEveryList) {
  LiveQuality q;
  ItemCounters counters;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&q, &counters, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string user = "u" + std::to_string(t) + "-" + std::to_string(i);
        const std::vector<std::string> items = List(10);
        q.Served(user, items);
        counters.Recommended(items);
        if (q.Positive(user, "i0").in_list) {
          counters.ClickedAfterRecommended("i0");
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(q.totals().lists, 2000u);
  EXPECT_EQ(q.totals().hits, 2000u);
  EXPECT_EQ(counters.Get("i0").recommended, 2000u);
  EXPECT_EQ(counters.Get("i9").recommended, 2000u);
  EXPECT_EQ(counters.Get("i0").clicked_after_recommended, 2000u);
  EXPECT_EQ(counters.Get("i1").clicked_after_recommended, 0u);
}

TEST(ItemCountersTest, UnknownItemsAreZero) {
  ItemCounters counters;
  EXPECT_EQ(counters.Get("x").recommended, 0u);
  counters.Recommended({"x", "y", "x"});
  EXPECT_EQ(counters.Get("x").recommended, 2u);
  EXPECT_EQ(counters.Get("y").recommended, 1u);
  EXPECT_EQ(counters.Get("y").clicked_after_recommended, 0u);
}

}  // namespace
}  // namespace flywheel::server
