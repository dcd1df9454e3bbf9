#include "engine/loop/served_lists.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace flywheel::engine {
namespace {

ServedList List(const std::string& user, int n) {
  ServedList list;
  list.user = user;
  list.ts_ms = 1'700'000'000'000;
  list.policy = "greedy";
  list.model = "pop";
  list.model_version = 7;
  for (int i = 0; i < n; ++i) {
    list.items.push_back(ShownItem{"i" + std::to_string(i), static_cast<uint32_t>(i), 1.0, 1.0});
  }
  return list;
}

TEST(RecommendationIdTest, SixteenLowerHexDigitsThatParseBack) {
  EXPECT_EQ(FormatRecommendationId(0), "0000000000000000");
  EXPECT_EQ(FormatRecommendationId(0xDEADBEEF12345678ULL), "deadbeef12345678");
  EXPECT_EQ(ParseRecommendationId("deadbeef12345678"), 0xDEADBEEF12345678ULL);
  EXPECT_FALSE(ParseRecommendationId("DEADBEEF12345678"));  // upper case: not ours
  EXPECT_FALSE(ParseRecommendationId("deadbeef1234567"));
  EXPECT_FALSE(ParseRecommendationId("deadbeef123456789"));
  EXPECT_FALSE(ParseRecommendationId("deadbeef1234567g"));
}

TEST(RecommendationIdTest, UniqueAcrossThreadsAndStableWithASeed) {
  RecommendationIds ids(RecommendationIdNonce(42, 100));
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> threads;
  for (auto& out : got) {
    threads.emplace_back([&ids, &out] {
      for (int i = 0; i < 5000; ++i) {
        out.push_back(ids.Next());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<std::string> all;
  for (const auto& out : got) {
    for (const std::string& id : out) {
      EXPECT_TRUE(ParseRecommendationId(id)) << id;
      all.insert(id);
    }
  }
  EXPECT_EQ(all.size(), 20000u);
  // The same seed and log end give the same ids; another log end (a restart after anything was
  // logged) or seed gives others; seed 0 draws a nonce.
  RecommendationIds a(RecommendationIdNonce(42, 100));
  RecommendationIds b(RecommendationIdNonce(42, 100));
  RecommendationIds c(RecommendationIdNonce(42, 101));
  const std::string first = a.Next();
  EXPECT_EQ(first, b.Next());
  EXPECT_NE(first, c.Next());
  EXPECT_NE(a.Next(), first);
  EXPECT_NE(RecommendationIdNonce(0, 100), RecommendationIdNonce(0, 100));
}

TEST(ServedListsTest, HitMissAndClaimOnce) {
  ServedLists lists(10, 1000);
  lists.Add("a", List("u", 3), 0);
  ServedList got;
  EXPECT_EQ(lists.ClaimList("b", 1, &got), ServedLists::Claim::kMissing);
  ASSERT_EQ(lists.ClaimList("a", 1, &got), ServedLists::Claim::kClaimed);
  EXPECT_EQ(got.user, "u");
  EXPECT_EQ(got.items.size(), 3u);
  EXPECT_EQ(got.model_version, 7u);
  EXPECT_EQ(lists.ClaimList("a", 2, &got), ServedLists::Claim::kRecorded);
  // A failed log releases the claim; the list may be recorded again.
  lists.Release("a");
  EXPECT_EQ(lists.ClaimList("a", 3, &got), ServedLists::Claim::kClaimed);
  EXPECT_TRUE(lists.Contains("a", 3));
}

TEST(ServedListsTest, ExpiresByAge) {
  ServedLists lists(10, 1000);
  lists.Add("a", List("u", 2), 0);
  lists.Add("b", List("u", 2), 500);
  ServedList got;
  EXPECT_TRUE(lists.Peek("a", 999, &got));
  EXPECT_FALSE(lists.Peek("a", 1000, &got));
  EXPECT_EQ(lists.ClaimList("a", 1000, &got), ServedLists::Claim::kMissing);
  EXPECT_EQ(lists.ClaimList("b", 1000, &got), ServedLists::Claim::kClaimed);
  EXPECT_EQ(lists.size(), 1u);  // "a" is gone
  EXPECT_EQ(lists.ClaimList("b", 1500, &got), ServedLists::Claim::kMissing);
  EXPECT_EQ(lists.size(), 0u);
}

TEST(ServedListsTest, CapacityEvictsTheOldest) {
  ServedLists lists(3, 1'000'000);
  for (int i = 0; i < 5; ++i) {
    lists.Add("id" + std::to_string(i), List("u", 1), i);
  }
  EXPECT_EQ(lists.size(), 3u);
  EXPECT_FALSE(lists.Contains("id0", 5));
  EXPECT_FALSE(lists.Contains("id1", 5));
  EXPECT_TRUE(lists.Contains("id2", 5));
  EXPECT_TRUE(lists.Contains("id4", 5));
}

TEST(ServedListsTest, RecordedIdsWithoutAListAreRemembered) {
  ServedLists lists(2, 1000);
  EXPECT_TRUE(lists.ClaimId("x", 0));
  EXPECT_FALSE(lists.ClaimId("x", 1));  // a duplicate
  ServedList got;
  EXPECT_EQ(lists.ClaimList("x", 1, &got), ServedLists::Claim::kRecorded);
  EXPECT_FALSE(lists.Contains("x", 1));  // no list behind it
  lists.Release("x");                    // its log failed: forgotten
  EXPECT_TRUE(lists.ClaimId("x", 2));
  // Bounded like lists: the oldest goes (the released entry's stale slot is skipped).
  EXPECT_TRUE(lists.ClaimId("y", 3));
  EXPECT_TRUE(lists.ClaimId("z", 4));
  EXPECT_EQ(lists.size(), 2u);
  EXPECT_TRUE(lists.ClaimId("x", 5));  // evicted, so no longer known
  EXPECT_TRUE(lists.ClaimId("w", 2000));
  EXPECT_EQ(lists.size(), 1u);  // the rest expired
}

TEST(ServedListsTest, ZeroCapacityKeepsNothing) {
  ServedLists lists(0, 1000);
  lists.Add("a", List("u", 1), 0);
  ServedList got;
  EXPECT_EQ(lists.ClaimList("a", 0, &got), ServedLists::Claim::kMissing);
  EXPECT_TRUE(lists.ClaimId("b", 0));
  EXPECT_TRUE(lists.ClaimId("b", 0));
  EXPECT_EQ(lists.size(), 0u);
}

}  // namespace
}  // namespace flywheel::engine
