// LatencyHistogram: constant-memory latency recording with log-spaced buckets (48 per decade,
// about 4.9 % wide, from 10 ns to 100 s), for p50/p99 and the report's histograms.
// Percentiles are interpolated geometrically inside a bucket, so they carry that resolution.
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace flywheel::eval {

class LatencyHistogram {
 public:
  void Add(double ms);
  int64_t count() const { return count_; }
  double mean_ms() const { return count_ ? sum_ms_ / static_cast<double>(count_) : 0.0; }
  // q in [0, 1]; 0 when empty.
  double Quantile(double q) const;
  // {"p50_ms", "p99_ms", "mean_ms", "count", "hist": {"bounds_ms": [...], "counts": [...]}}
  // with the histogram coarsened to 4 buckets per decade and trimmed to the used range.
  nlohmann::json ToJson() const;

 private:
  static constexpr int kPerDecade = 48;
  static constexpr double kMinMs = 1e-5;
  static constexpr int kDecades = 10;
  static constexpr int kBuckets = kPerDecade * kDecades + 1;
  static double UpperBound(int bucket);

  std::array<int64_t, kBuckets> buckets_{};
  int64_t count_ = 0;
  double sum_ms_ = 0;
};

}  // namespace flywheel::eval
