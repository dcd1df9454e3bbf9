#include "server/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace flywheel::server {

RateLimiter::RateLimiter(RateLimit limit, size_t max_buckets)
    : limit_(limit), max_buckets_(std::max<size_t>(max_buckets, 1)) {}

int64_t RateLimiter::NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RateLimiter::Refill(Bucket* bucket, int64_t now_ms) const {
  if (now_ms > bucket->updated_ms) {
    const double elapsed_s = static_cast<double>(now_ms - bucket->updated_ms) / 1000.0;
    bucket->tokens = std::min(limit_.burst, bucket->tokens + elapsed_s * limit_.rate_per_s);
    bucket->updated_ms = now_ms;
  }
}

void RateLimiter::DropFull(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(&it->second, now_ms);
    it = it->second.tokens >= limit_.burst ? buckets_.erase(it) : std::next(it);
  }
}

RateLimiter::Decision RateLimiter::Take(std::string_view name, int64_t now_ms) {
  if (!limit_.enabled()) {
    return {};
  }
  base::MutexLock lock(&mu_);
  Bucket* bucket = nullptr;
  if (auto it = buckets_.find(std::string(name)); it != buckets_.end()) {
    bucket = &it->second;
  } else {
    // Sweeping is linear in the buckets: at most once a second.
    if (buckets_.size() >= max_buckets_ && now_ms - last_sweep_ms_ >= 1000) {
      last_sweep_ms_ = now_ms;
      DropFull(now_ms);
    }
    if (buckets_.size() < max_buckets_) {
      bucket = &buckets_.emplace(std::string(name), Bucket{limit_.burst, now_ms}).first->second;
    } else {
      if (!overflow_started_) {
        overflow_ = Bucket{limit_.burst, now_ms};
        overflow_started_ = true;
      }
      bucket = &overflow_;
    }
  }
  Refill(bucket, now_ms);
  if (bucket->tokens >= 1.0) {
    bucket->tokens -= 1.0;
    return {};
  }
  const double wait_s = (1.0 - bucket->tokens) / limit_.rate_per_s;
  return Decision{false, std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s * 1000.0)))};
}

size_t RateLimiter::buckets() const {
  base::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace flywheel::server
