// Ingestor: the write path of the engine (doc/engine.md, "Ingest"). It validates a batch once
// (nothing is logged if one event is invalid), drops events whose id is in the idempotency
// window (acknowledged, not logged again), assigns consecutive sequence numbers, appends the
// batch to the log durably under the configured mode, and hands it to the learner. Control
// records (catalogue operations) take the same path.
//
// Owns: the log writer, the dedup window, the next sequence number and the sticky failure.
// Threads: any thread calls Ingest/LogControl/LogForget concurrently; mu_ serialises them and
// guards every member below it (the hand-off runs under mu_, so batches reach the learner in
// log order). The counters are atomics. The recovery methods run before any other thread.
// Errors: a full disk is not fatal: the refused batch is wholly absent from the log (cut back by
// the writer), the write answers kUnavailable with the seconds to wait, and WriteHealth decides
// when writes are tried again (write_health.h). Any other failed write, or a failed fdatasync, is
// fatal (wal/log_writer.h): every later write fails with the first error.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "base/histogram.h"
#include "base/mutex.h"
#include "base/serial.h"
#include "engine/ingest/dedup_window.h"
#include "engine/ingest/write_health.h"
#include "engine/learn/learner.h"
#include "wal/log_writer.h"

namespace flywheel::engine {

// Impressions carried by events (doc/loop.md, "Impressions"): which `$impression` record goes
// just before an event in its batch. Implemented by the loop (loop/impression_recorder.h).
class ImpressionSource {
 public:
  virtual ~ImpressionSource() = default;
  // Errors of the events' lists (an unknown item, an item the named list did not show), with
  // the event's index in `events`; called outside the ingestor's lock.
  virtual std::vector<EventError> CheckEvents(std::span<const Event> events) const = 0;
  // The record to log just before `event`, claimed (no other caller gets it); nullopt when
  // none. Called under the ingestor's lock: must not take the learned state's lock.
  virtual std::optional<Event> ClaimFor(const Event& event) = 0;
  // The batch holding the claimed record of `recommendation_id` was not logged.
  virtual void Release(const std::string& recommendation_id) = 0;
};

class Ingestor {
 public:
  // `disk_full_retry_ms`: the first back-off after a full disk (WriteHealth).
  Ingestor(const EventTypeTable& types, size_t dedup_window, bool read_only, int disk_full_retry_ms,
           std::function<void(Batch)> hand_off);
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Recovery (before any other thread): the dedup window from a snapshot, ids of replayed
  // events, and the writer positioned at `next_seq` (none when read-only).
  Status LoadDedup(base::ByteReader* in);
  void ClearDedup();
  void Remember(const std::string& id, uint64_t seq);
  void Attach(std::unique_ptr<wal::LogWriter> writer, uint64_t next_seq);
  // Set once, before other threads run (null: events' impressions are not logged).
  void SetImpressionSource(ImpressionSource* source) { impressions_ = source; }

  // Every invalid event of a batch (empty when all are valid).
  std::vector<EventError> Validate(std::span<const Event> events) const;
  Result<IngestResult> Ingest(std::span<const Event> events);
  // Logs one control record; returns its sequence number.
  Result<uint64_t> LogControl(Event record);
  // Logs control records as one group (one append); returns the first one's sequence number.
  Result<uint64_t> LogControls(std::vector<Event> records);
  // Logs a user deletion and rolls the log, so a purge can remove every segment before it.
  Result<uint64_t> LogForget(Event record);

  // OK while writes may proceed: not read-only, not closed, no earlier failure, and not within
  // the back-off after a full disk (then kUnavailable saying when to retry).
  Status CheckWritable() const;
  // EngineStats::write_state, write_error, write_retry_after_s (re-checks a full disk when due).
  void FillWriteState(EngineStats* stats) const;
  // The dedup section of a snapshot at `seq`.
  void SaveDedup(uint64_t seq, std::string* payload) const;
  // The log is durable through everything logged.
  Status Sync();
  Status RemoveSegmentsBefore(uint64_t seq);
  // Refuses later writes; returns the last sequence number logged and whether no write failed.
  Result<std::pair<uint64_t, bool>> MarkClosed();
  Status CloseWriter();

  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  uint64_t durable_seq() const;
  uint64_t duplicates() const { return duplicates_.load(std::memory_order_relaxed); }
  const base::AtomicHistogram& latency() const { return latency_; }

 private:
  Status CheckWritableLocked() const REQUIRES(mu_);
  // Logs `events` (validated, deduplicated) and hands them off. REQUIRES: mu_, writable.
  Result<uint64_t> LogLocked(std::vector<Event> events) REQUIRES(mu_);
  // Classifies a failed append or roll: a full disk (writer still usable) starts the back-off
  // and becomes kUnavailable; anything else is the sticky failure.
  Status OnWriteError(const Status& error) REQUIRES(mu_);

  const EventTypeTable types_;
  const bool read_only_;
  const std::function<void(Batch)> hand_off_;
  ImpressionSource* impressions_ = nullptr;

  mutable base::Mutex mu_;
  // Set once by Attach, before other threads run; appends and rolls happen under mu_ (log
  // order), Sync/RemoveSegmentsBefore/SyncedThrough outside it (LogWriter is thread-safe).
  std::unique_ptr<wal::LogWriter> writer_;
  DedupWindow dedup_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  Status failure_ GUARDED_BY(mu_);  // sticky
  bool closed_ GUARDED_BY(mu_) = false;
  // A full disk's back-off; its probe uses writer_. Thread-safe on its own (locked after mu_).
  mutable WriteHealth health_;
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> duplicates_{0};
  base::AtomicHistogram latency_;  // validation to acknowledgement, ms
};

}  // namespace flywheel::engine
