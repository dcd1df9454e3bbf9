#include "server/stats_history.h"

#include <algorithm>

namespace flywheel::server {
namespace {

using nlohmann::json;

base::AtomicHistogram::Counts Minus(const base::AtomicHistogram::Counts& a,
                                    const base::AtomicHistogram::Counts& b, uint64_t* total) {
  base::AtomicHistogram::Counts d{};
  *total = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    d[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
    *total += d[i];
  }
  return d;
}

// after - before, 0 when a counter went back (an engine reopened under the same server).
uint64_t Delta(uint64_t after, uint64_t before) {
  return after >= before ? after - before : 0;
}

json Value(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

StatsSample SampleBetween(const StatsReading& before, const StatsReading& after) {
  StatsSample s;
  s.t_ms = after.t_ms;
  const double seconds = static_cast<double>(after.t_ms - before.t_ms) / 1000.0;
  if (seconds <= 0) {
    return s;
  }
  s.recommendations_per_s =
      static_cast<double>(Delta(after.recommendations, before.recommendations)) / seconds;
  uint64_t n = 0;
  const auto latency = Minus(after.recommend_latency, before.recommend_latency, &n);
  if (n > 0) {
    s.recommend_p50_ms = base::AtomicHistogram::QuantileOf(latency, 0.5);
    s.recommend_p99_ms = base::AtomicHistogram::QuantileOf(latency, 0.99);
  }
  const uint64_t lists = Delta(after.lists, before.lists);
  if (lists > 0) {
    s.live_hr10 = static_cast<double>(Delta(after.hits, before.hits)) / static_cast<double>(lists);
  }
  if (!after.engine || !before.engine) {
    return s;
  }
  s.events_per_s = static_cast<double>(Delta(after.events, before.events)) / seconds;
  const auto freshness = Minus(after.freshness, before.freshness, &n);
  if (n > 0) {
    s.freshness_p99_ms = base::AtomicHistogram::QuantileOf(freshness, 0.99);
  }
  return s;
}

StatsHistory::StatsHistory(size_t capacity, int interval_s)
    : capacity_(std::max<size_t>(1, capacity)), interval_s_(interval_s) {}

void StatsHistory::Add(const StatsSample& sample) {
  base::MutexLock lock(&mu_);
  if (ring_.size() < capacity_) {
    ring_.push_back(sample);
  } else {
    ring_[next_] = sample;
  }
  next_ = (next_ + 1) % capacity_;
}

std::vector<StatsSample> StatsHistory::Samples() const {
  base::MutexLock lock(&mu_);
  if (ring_.size() < capacity_) {
    return ring_;
  }
  std::vector<StatsSample> out;
  out.reserve(ring_.size());
  out.insert(out.end(), ring_.begin() + static_cast<std::ptrdiff_t>(next_), ring_.end());
  out.insert(out.end(), ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(next_));
  return out;
}

json StatsHistory::ToJson() const {
  const std::vector<StatsSample> samples = Samples();
  json t = json::array();
  json events = json::array();
  json recs = json::array();
  json p50 = json::array();
  json p99 = json::array();
  json fresh = json::array();
  json hr = json::array();
  for (const StatsSample& s : samples) {
    t.push_back(s.t_ms);
    events.push_back(Value(s.events_per_s));
    recs.push_back(Value(s.recommendations_per_s));
    p50.push_back(Value(s.recommend_p50_ms));
    p99.push_back(Value(s.recommend_p99_ms));
    fresh.push_back(Value(s.freshness_p99_ms));
    hr.push_back(Value(s.live_hr10));
  }
  return {{"interval_s", interval_s_}, {"t", t},
          {"events_per_s", events},    {"recommendations_per_s", recs},
          {"recommend_p50_ms", p50},   {"recommend_p99_ms", p99},
          {"freshness_p99_ms", fresh}, {"live_hr10", hr}};
}

}  // namespace flywheel::server
