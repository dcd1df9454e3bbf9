#include "base/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace flywheel::base {

double AtomicHistogram::UpperBoundMs(int bucket) {
  return kMinMs * std::pow(10.0, static_cast<double>(bucket) / kPerDecade);
}

void AtomicHistogram::Add(double ms) {
  int bucket = 0;
  if (ms > kMinMs) {
    bucket = static_cast<int>(std::ceil(std::log10(ms / kMinMs) * kPerDecade));
    bucket = std::clamp(bucket, 0, kBuckets - 1);
  }
  buckets_[static_cast<size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(std::max(0.0, ms) * 1000.0), std::memory_order_relaxed);
}

double AtomicHistogram::sum_ms() const {
  return static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1000.0;
}

AtomicHistogram::Counts AtomicHistogram::Snapshot() const {
  Counts counts{};
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

double AtomicHistogram::Quantile(double q) const {
  return QuantileOf(Snapshot(), q);
}

double AtomicHistogram::QuantileOf(const Counts& counts, double q) {
  uint64_t total = 0;
  for (uint64_t n : counts) {
    total += n;
  }
  if (total == 0) {
    return 0.0;
  }
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  double seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    const auto n = static_cast<double>(counts[static_cast<size_t>(i)]);
    if (n > 0 && seen + n >= rank) {
      const double lo = i == 0 ? kMinMs : UpperBoundMs(i - 1);
      const double hi = UpperBoundMs(i);
      const double f = std::clamp((rank - seen) / n, 0.0, 1.0);
      return lo * std::pow(hi / lo, f);
    }
    seen += n;
  }
  return UpperBoundMs(kBuckets - 1);
}

std::string AtomicHistogram::Prometheus(const std::string& name, const std::string& labels) const {
  std::string out;
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  char line[256];
  // Export every 4th bound (6 per decade) to keep the series small.
  for (int i = 0; i < kBuckets; ++i) {
    cumulative += buckets_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    if (i % 4 == 0) {
      std::snprintf(line, sizeof(line), "%s_bucket{%s%sle=\"%.6g\"} %llu\n", name.c_str(),
                    labels.c_str(), sep.c_str(), UpperBoundMs(i) / 1000.0,
                    static_cast<unsigned long long>(cumulative));
      out += line;
    }
  }
  std::snprintf(line, sizeof(line), "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name.c_str(),
                labels.c_str(), sep.c_str(), static_cast<unsigned long long>(count()));
  out += line;
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  std::snprintf(line, sizeof(line), "%s_sum%s %.6f\n%s_count%s %llu\n", name.c_str(),
                braces.c_str(), sum_ms() / 1000.0, name.c_str(), braces.c_str(),
                static_cast<unsigned long long>(count()));
  out += line;
  return out;
}

}  // namespace flywheel::base
