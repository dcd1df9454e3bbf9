// The history sampler of the Api (GET /v1/stats/history, server/stats_history.h): one thread
// that takes a cumulative reading every interval and stores the difference from the previous
// one as a sample.
#include <chrono>
#include <string>

#include "server/api.h"

namespace flywheel::server {
namespace {

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Api::~Api() {
  StopHistorySampler();
}

void Api::SetEngine(Engine* engine) {
  base::MutexLock lock(&sampler_mu_);
  engine_.store(engine, std::memory_order_release);
}

StatsReading Api::ReadStats(int64_t unix_ms) {
  StatsReading r;
  r.t_ms = unix_ms;
  r.recommendations = recommendations_served_.load(std::memory_order_relaxed);
  {
    base::MutexLock lock(&histograms_mu_);
    if (auto it = latency_.find("recommendations"); it != latency_.end()) {
      r.recommend_latency = it->second->Snapshot();
    }
  }
  const LiveQuality::Totals quality = live_quality_.totals();
  r.lists = quality.lists;
  r.hits = quality.hits;
  // SetEngine takes sampler_mu_ (held here): the engine cannot go while it is read.
  Engine* engine = engine_.load(std::memory_order_acquire);
  if (engine != nullptr) {
    r.engine = true;
    r.events = engine->stats().last_seq;
    const std::vector<uint64_t> buckets = engine->FreshnessBuckets();
    for (size_t i = 0; i < buckets.size() && i < r.freshness.size(); ++i) {
      r.freshness[i] = buckets[i];
    }
  }
  return r;
}

void Api::SampleHistory() {
  SampleHistoryAt(UnixNowMs());
}

void Api::SampleHistoryAt(int64_t unix_ms) {
  base::MutexLock lock(&sampler_mu_);
  const StatsReading now = ReadStats(unix_ms);
  if (last_reading_) {
    history_.Add(SampleBetween(*last_reading_, now));
  }
  last_reading_ = now;
}

void Api::StartHistorySampler() {
  base::MutexLock lock(&sampler_mu_);
  if (sampler_.joinable()) {
    return;
  }
  sampler_stop_ = false;
  sampler_ = std::thread([this] { SamplerLoop(); });
}

void Api::StopHistorySampler() {
  std::thread thread;
  {
    base::MutexLock lock(&sampler_mu_);
    sampler_stop_ = true;
    thread = std::move(sampler_);
  }
  sampler_cv_.NotifyAll();
  if (thread.joinable()) {
    thread.join();
  }
}

void Api::SamplerLoop() {
  const auto interval = std::chrono::seconds(history_.interval_s());
  auto next = std::chrono::steady_clock::now();
  SampleHistory();  // the first reading
  while (true) {
    next += interval;
    {
      base::MutexLock lock(&sampler_mu_);
      while (!sampler_stop_ && std::chrono::steady_clock::now() < next) {
        sampler_cv_.WaitUntil(&sampler_mu_, next);
      }
      if (sampler_stop_) {
        return;
      }
    }
    SampleHistory();
  }
}

}  // namespace flywheel::server
