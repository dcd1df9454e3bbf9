// StatsHistory: the last hour of the server's vital signs for the dashboard
// (GET /v1/stats/history, doc/http_api.md): a ring buffer of `capacity` samples (1,800 by
// default: one hour at one sample every 2 s), oldest first once full.
//
// A sample describes one interval: the rates and the percentiles of what happened between two
// cumulative readings (StatsReading) taken by the sampler, never cumulative values. A value is
// absent (JSON null) when the interval has no data for it: no recommendation served (latency
// percentiles), no event applied (freshness), no list scored (live HR@10), or no engine yet
// (recovering: every value).
//
// Threads: Add from the sampler thread, Samples/ToJson from HTTP threads; guarded by mu_.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/histogram.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace flywheel::server {

// Cumulative counters read at one moment.
struct StatsReading {
  int64_t t_ms = 0;              // Unix time of the reading
  bool engine = false;           // the engine was up (else the engine fields are zero)
  uint64_t events = 0;           // the engine's last_seq
  uint64_t recommendations = 0;  // recommendation requests answered 200
  base::AtomicHistogram::Counts recommend_latency{};  // of the recommendations route
  base::AtomicHistogram::Counts freshness{};          // the engine's freshness histogram
  uint64_t lists = 0;                                 // LiveQuality totals
  uint64_t hits = 0;
};

struct StatsSample {
  int64_t t_ms = 0;  // the end of the interval
  std::optional<double> events_per_s;
  std::optional<double> recommendations_per_s;
  std::optional<double> recommend_p50_ms;
  std::optional<double> recommend_p99_ms;
  std::optional<double> freshness_p99_ms;
  std::optional<double> live_hr10;
};

// The sample of the interval between two readings (`after` later than `before`; an interval of
// zero or negative length gives a sample of nulls at after.t_ms).
StatsSample SampleBetween(const StatsReading& before, const StatsReading& after);

class StatsHistory {
 public:
  static constexpr size_t kDefaultCapacity = 1800;
  static constexpr int kDefaultIntervalS = 2;

  explicit StatsHistory(size_t capacity = kDefaultCapacity, int interval_s = kDefaultIntervalS);

  void Add(const StatsSample& sample) EXCLUDES(mu_);
  // Oldest first, at most capacity().
  std::vector<StatsSample> Samples() const EXCLUDES(mu_);
  // {"interval_s", "t", "events_per_s", ...}: one array per field, oldest first.
  nlohmann::json ToJson() const EXCLUDES(mu_);

  size_t capacity() const { return capacity_; }
  int interval_s() const { return interval_s_; }

 private:
  const size_t capacity_;
  const int interval_s_;
  mutable base::Mutex mu_;
  std::vector<StatsSample> ring_ GUARDED_BY(mu_);  // grows to capacity_, then wraps
  size_t next_ GUARDED_BY(mu_) = 0;                // the slot the next sample overwrites
};

}  // namespace flywheel::server
