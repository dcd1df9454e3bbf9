#include "engine/ingest/write_health.h"

#include <algorithm>
#include <utility>

namespace flywheel::engine {
namespace {

constexpr std::chrono::milliseconds kMaxBackoff{30'000};

}  // namespace

WriteHealth::WriteHealth(int initial_backoff_ms, std::function<Status()> probe)
    : initial_backoff_(std::max(0, initial_backoff_ms)), probe_(std::move(probe)) {}

int WriteHealth::RetryAfterLocked(Clock::time_point now) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
  return static_cast<int>(std::max<int64_t>(1, (left.count() + 999) / 1000));
}

Status WriteHealth::RefusalLocked(Clock::time_point now) const {
  const auto for_s = std::chrono::duration_cast<std::chrono::seconds>(now - since_).count();
  return Status::Unavailable("engine: disk full, writes refused for " + std::to_string(for_s) +
                             " s (" + error_ + "); nothing of this request was logged; retry " +
                             "after " + std::to_string(RetryAfterLocked(now)) + " s");
}

Status WriteHealth::Admit() {
  base::MutexLock lock(&mu_);
  const Clock::time_point now = Clock::now();
  if (!disk_full_ || now >= retry_at_) {
    return Status::Ok();  // after the back-off, this write is the test
  }
  return RefusalLocked(now);
}

Status WriteHealth::OnDiskFull(const Status& error) {
  base::MutexLock lock(&mu_);
  const Clock::time_point now = Clock::now();
  if (!disk_full_) {
    disk_full_ = true;
    since_ = now;
    backoff_ = initial_backoff_;
  } else {
    backoff_ = std::min(kMaxBackoff, backoff_ * 2);
  }
  error_ = error.message();
  retry_at_ = now + backoff_;
  return RefusalLocked(now);
}

void WriteHealth::OnWritten() {
  base::MutexLock lock(&mu_);
  disk_full_ = false;
  error_.clear();
}

WriteHealth::Report WriteHealth::ReportLocked(Clock::time_point now) const {
  Report r;
  r.disk_full = disk_full_;
  if (disk_full_) {
    r.message = RefusalLocked(now).message();
    r.retry_after_s = RetryAfterLocked(now);
  }
  return r;
}

WriteHealth::Report WriteHealth::Check() {
  {
    base::MutexLock lock(&mu_);
    if (!disk_full_ || probing_ || Clock::now() < retry_at_) {
      return ReportLocked(Clock::now());
    }
    probing_ = true;
  }
  const Status probe = probe_();
  base::MutexLock lock(&mu_);
  probing_ = false;
  if (probe.ok()) {
    disk_full_ = false;
    error_.clear();
  } else {
    error_ = probe.message();
    backoff_ = std::min(kMaxBackoff, backoff_ * 2);
    retry_at_ = Clock::now() + backoff_;
  }
  return ReportLocked(Clock::now());
}

}  // namespace flywheel::engine
