#include "server/rate_limiter.h"

#include <string>

#include <gtest/gtest.h>

namespace flywheel::server {
namespace {

TEST(RateLimiterTest, BurstThenRefusedUntilATokenRefills) {
  RateLimiter limiter(RateLimit{10, 3});  // 10/s: a token every 100 ms
  const int64_t t0 = 1'000'000;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Take("key:read", t0).allowed) << i;
  }
  RateLimiter::Decision refused = limiter.Take("key:read", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 100);
  refused = limiter.Take("key:read", t0 + 40);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 60);
  EXPECT_TRUE(limiter.Take("key:read", t0 + 100).allowed);
  EXPECT_FALSE(limiter.Take("key:read", t0 + 100).allowed);
  // Another name has its own bucket.
  EXPECT_TRUE(limiter.Take("key:write", t0 + 100).allowed);
  // Refills up to the burst only.
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Take("key:read", t0 + 100'000).allowed) << i;
  }
  EXPECT_FALSE(limiter.Take("key:read", t0 + 100'000).allowed);
}

TEST(RateLimiterTest, AdmittedRateEqualsTheConfiguredRate) {
  RateLimiter limiter(RateLimit{50, 5});
  // One attempt per millisecond for 10 s: burst + rate * 10 s admitted.
  int admitted = 0;
  for (int64_t ms = 0; ms < 10'000; ++ms) {
    admitted += limiter.Take("ip:203.0.113.9", ms).allowed ? 1 : 0;
  }
  EXPECT_GE(admitted, 5 + 500 - 1);
  EXPECT_LE(admitted, 5 + 500);
}

TEST(RateLimiterTest, ZeroRateAllowsEverything) {
  RateLimiter limiter(RateLimit{0, 0});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Take("x", 0).allowed);
  }
  EXPECT_EQ(limiter.buckets(), 0u);
}

TEST(RateLimiterTest, ManyNamesStayBoundedAndCannotBypassTheLimit) {
  RateLimiter limiter(RateLimit{1, 2}, /*max_buckets=*/100);
  // 10,000 addresses at the same instant: at most 100 buckets; the rest share one overflow
  // bucket, which empties after its burst.
  int admitted = 0;
  for (int i = 0; i < 10'000; ++i) {
    admitted += limiter.Take("ip:" + std::to_string(i), 0).allowed ? 1 : 0;
  }
  EXPECT_EQ(limiter.buckets(), 100u);
  EXPECT_EQ(admitted, 100 + 2);
  // Once the buckets have refilled (idle clients), new names get their own buckets again.
  EXPECT_TRUE(limiter.Take("ip:new", 10'000).allowed);
  EXPECT_EQ(limiter.buckets(), 1u);
}

}  // namespace
}  // namespace flywheel::server
