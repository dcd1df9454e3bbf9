// WriteHealth: whether the write path may try to log now, after a full disk (doc/engine.md,
// "Disk full"). A full disk is not fatal (wal/log_writer.h: the refused batch was cut back and
// the writer stays usable): the ingestor reports it here and refuses writes at once, with the
// seconds a client should wait (Retry-After), until a back-off has passed (1 s after the first
// failure, doubling to 30 s while the disk stays full). After the back-off one write is let
// through and is itself the test; Check() (/readyz, /v1/stats, the history sampler) instead runs
// the probe (a small file written, fdatasynced and removed next to the log), so writes resume
// once space is freed even when no client writes (a load balancer that stops sending traffic on
// /readyz 503 would otherwise never see the recovery).
//
// Thread safety: every method may be called from any thread (mu_ guards the state; the probe
// runs outside it). Holds no other lock while probing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "flywheel/status.h"

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace flywheel::engine {

class WriteHealth {
 public:
  using Clock = std::chrono::steady_clock;
  // `initial_backoff_ms` (>= 0; 0: every write and every Check() tries again at once, for
  // tests); `probe` tests whether the disk takes writes again (OK: it does).
  WriteHealth(int initial_backoff_ms, std::function<Status()> probe);

  // Before a write: OK to try, or kUnavailable ("disk full ... retry after N s") while the
  // back-off runs.
  Status Admit() EXCLUDES(mu_);
  // A write failed for lack of space (`error`: the writer's kResourceExhausted); starts or
  // doubles the back-off. Returns the kUnavailable status to answer the write with.
  Status OnDiskFull(const Status& error) EXCLUDES(mu_);
  // A write succeeded: the disk takes writes again.
  void OnWritten() EXCLUDES(mu_);

  struct Report {
    bool disk_full = false;
    std::string message;    // the last error and since when (empty when healthy)
    int retry_after_s = 0;  // >= 1 while disk_full
  };
  // The state now; while the disk is full and the back-off has passed, runs the probe first.
  Report Check() EXCLUDES(mu_);

 private:
  Status RefusalLocked(Clock::time_point now) const REQUIRES(mu_);
  int RetryAfterLocked(Clock::time_point now) const REQUIRES(mu_);
  Report ReportLocked(Clock::time_point now) const REQUIRES(mu_);

  const std::chrono::milliseconds initial_backoff_;
  const std::function<Status()> probe_;
  mutable base::Mutex mu_;
  bool disk_full_ GUARDED_BY(mu_) = false;
  std::string error_ GUARDED_BY(mu_);
  Clock::time_point since_ GUARDED_BY(mu_);
  Clock::time_point retry_at_ GUARDED_BY(mu_);
  std::chrono::milliseconds backoff_ GUARDED_BY(mu_){0};
  bool probing_ GUARDED_BY(mu_) = false;  // one probe at a time
};

}  // namespace flywheel::engine
