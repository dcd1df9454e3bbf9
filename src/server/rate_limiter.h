// RateLimiter: token buckets by name (an API key's scope, a client's IP address), for the
// per-key and per-IP request rate limits of `flywheel serve` (doc/http_api.md, "Rate limits").
//
// Each bucket holds up to `burst` tokens and refills at `rate_per_s`; a request takes one token,
// or is refused with the time until one is there (the Retry-After of a 429). A rate of 0 turns
// the limiter off (every request allowed). Buckets are created on first use; at most
// `max_buckets` exist at once: when a new name would exceed that, buckets that have refilled
// completely (idle clients, indistinguishable from new ones) are dropped first (a sweep at most
// once a second), and if none has, the new name shares one overflow bucket (so a flood of addresses
// cannot grow memory nor bypass the limit).
//
// Thread-safe. Time is passed in (steady milliseconds) so that tests need no clock.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace flywheel::server {

struct RateLimit {
  double rate_per_s = 0;  // 0: no limit
  double burst = 0;       // tokens a full bucket holds (>= 1 when rate_per_s > 0)
  bool enabled() const { return rate_per_s > 0; }
};

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int64_t retry_after_ms = 0;  // when refused: until one token is back
  };

  explicit RateLimiter(RateLimit limit, size_t max_buckets = 100'000);

  // Takes one token of bucket `name` at time `now_ms` (monotonic).
  Decision Take(std::string_view name, int64_t now_ms) EXCLUDES(mu_);
  // Milliseconds since the steady clock's epoch (what callers pass as now_ms).
  static int64_t NowMs();

  const RateLimit& limit() const { return limit_; }
  size_t buckets() const EXCLUDES(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  void Refill(Bucket* bucket, int64_t now_ms) const;
  // Drops every full bucket.
  void DropFull(int64_t now_ms) REQUIRES(mu_);

  const RateLimit limit_;
  const size_t max_buckets_;
  mutable base::Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
  Bucket overflow_ GUARDED_BY(mu_);
  bool overflow_started_ GUARDED_BY(mu_) = false;
  int64_t last_sweep_ms_ GUARDED_BY(mu_) = INT64_MIN / 2;
};

}  // namespace flywheel::server
