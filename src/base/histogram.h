// AtomicHistogram: a lock-free latency histogram for live servers: log-spaced buckets (24 per
// decade, about 10 % wide) from 1 us to 1000 s; Add() is a few relaxed atomic increments, so any
// thread may record while others read percentiles. Percentiles carry the bucket resolution
// (geometric interpolation inside a bucket).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace flywheel::base {

class AtomicHistogram {
 public:
  static constexpr int kPerDecade = 24;
  static constexpr int kDecades = 9;
  static constexpr double kMinMs = 1e-3;
  static constexpr int kBuckets = kPerDecade * kDecades + 1;

  void Add(double ms);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_ms() const;
  // q in [0, 1]; 0 when empty.
  double Quantile(double q) const;
  // Prometheus histogram lines for `name` (seconds): name_bucket{le=...}, name_sum, name_count,
  // with `labels` ("route=\"x\"" or empty) inside the braces.
  std::string Prometheus(const std::string& name, const std::string& labels) const;

  static double UpperBoundMs(int bucket);

  // The bucket counts now (each read relaxed): two of them subtracted give the histogram of
  // what was added in between (interval percentiles, server/stats_history.h).
  using Counts = std::array<uint64_t, kBuckets>;
  Counts Snapshot() const;
  // Quantile() over `counts`; 0 when they are all zero.
  static double QuantileOf(const Counts& counts, double q);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace flywheel::base
