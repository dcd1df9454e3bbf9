#include "eval/latency.h"

#include <algorithm>
#include <cmath>

namespace flywheel::eval {

double LatencyHistogram::UpperBound(int bucket) {
  return kMinMs * std::pow(10.0, static_cast<double>(bucket) / kPerDecade);
}

void LatencyHistogram::Add(double ms) {
  ++count_;
  sum_ms_ += ms;
  int bucket = 0;
  if (ms > kMinMs) {
    bucket = static_cast<int>(std::ceil(std::log10(ms / kMinMs) * kPerDecade));
  }
  buckets_[static_cast<size_t>(std::clamp(bucket, 0, kBuckets - 1))] += 1;
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) {
    return 0.0;
  }
  const double rank = q * static_cast<double>(count_);
  int64_t below = 0;
  for (int b = 0; b < kBuckets; ++b) {
    const int64_t n = buckets_[static_cast<size_t>(b)];
    if (n > 0 && static_cast<double>(below + n) >= rank) {
      const double lo = b == 0 ? kMinMs : UpperBound(b - 1);
      const double frac =
          std::clamp((rank - static_cast<double>(below)) / static_cast<double>(n), 0.0, 1.0);
      return lo * std::pow(UpperBound(b) / lo, frac);
    }
    below += n;
  }
  return UpperBound(kBuckets - 1);
}

nlohmann::json LatencyHistogram::ToJson() const {
  nlohmann::json out;
  out["p50_ms"] = Quantile(0.5);
  out["p99_ms"] = Quantile(0.99);
  out["mean_ms"] = mean_ms();
  out["count"] = count_;
  constexpr int kCoarse = kPerDecade / 4;
  std::vector<double> bounds;
  std::vector<int64_t> counts;
  for (int b = 0; b < kBuckets; b += kCoarse) {
    int64_t n = 0;
    for (int i = b; i < std::min(b + kCoarse, kBuckets); ++i) {
      n += buckets_[static_cast<size_t>(i)];
    }
    bounds.push_back(UpperBound(std::min(b + kCoarse - 1, kBuckets - 1)));
    counts.push_back(n);
  }
  size_t first = 0;
  size_t last = counts.size();
  while (first < last && counts[first] == 0) {
    ++first;
  }
  while (last > first && counts[last - 1] == 0) {
    --last;
  }
  out["hist"]["bounds_ms"] = std::vector<double>(bounds.begin() + static_cast<long>(first),
                                                 bounds.begin() + static_cast<long>(last));
  out["hist"]["counts"] = std::vector<int64_t>(counts.begin() + static_cast<long>(first),
                                               counts.begin() + static_cast<long>(last));
  return out;
}

}  // namespace flywheel::eval
