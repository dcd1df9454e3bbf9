// LogWriter: appends batches of events to the event log (doc/formats/event_log.md) with group
// commit, segment rollover and retention.
//
// Durability: in `sync` mode AppendBatch() returns OK only after the batch is fdatasynced, so the
// caller may acknowledge it. In `interval:<ms>` mode AppendBatch() returns after write(); a
// background thread fdatasyncs every <ms> ms, and SyncedThrough() tells what is durable. Loss
// window on power loss: events appended in the last <ms> ms + 2 x (fdatasync duration); a process
// crash loses nothing AppendBatch() returned (the bytes are in the kernel).
//
// Batches are all or nothing: a write that fails part-way is cut back to the batch's start
// (and, in sync mode, so is a batch whose fdatasync failed), so no reader sees part of a batch.
// A full disk (kResourceExhausted) while writing a batch or creating a segment is NOT final:
// nothing of the batch stays in the log, and the same batch may be appended again once space
// is freed. Any other failure is final: after a failed write, fdatasync, segment creation,
// directory sync or cut, every call returns the first error ("wal: writer failed earlier: ...").
// Recover by re-reading the log (LogReader), TruncateTail(), and opening a new writer. A failed
// fdatasync (io::IsSyncFailure) must be treated as fatal by the caller. Invalid arguments (wrong
// first_seq, oversized event) are kInvalidArgument and do not fail the writer.
//
// Thread safety: all methods may be called from any thread; calls are serialized internally.
// The interval-mode sync thread runs fdatasync without holding the lock, so appends continue
// while it syncs. The Env must outlive the writer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"

#include "io/env.h"

namespace flywheel::wal {

struct Durability {
  enum class Mode { kSync, kInterval };
  Mode mode = Mode::kSync;
  int interval_ms = 0;  // > 0 in kInterval mode

  // "sync" or "interval:<ms>" with 1 <= ms <= 60000; else kInvalidArgument.
  static Result<Durability> Parse(std::string_view text);
  std::string ToString() const;
};

struct WriterOptions {
  Durability durability;
  uint64_t segment_bytes = 64ull << 20;  // roll over to a new segment after this many bytes
};

// The file ProbeSpace() writes and removes (ignored by the reader like every non-segment file).
inline constexpr const char* kSpaceProbeFileName = "space-probe.tmp";

class LogWriter {
 public:
  // Opens a writer that continues the log in `dir` (created if missing) at `next_seq` (>= 1) in a
  // new segment. REQUIRES: the log was read and its torn tail cut (TruncateTail) by the caller.
  static Result<std::unique_ptr<LogWriter>> Open(io::Env* env, const std::string& dir,
                                                 const WriterOptions& options, uint64_t next_seq);
  // Stops the sync thread and closes the file without syncing (use Close() to shut down cleanly).
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Logs events[i] with seq first_seq + i. REQUIRES first_seq == next_seq() (else
  // kInvalidArgument). Returns when the batch is durable (sync) or written (interval).
  Status AppendBatch(uint64_t first_seq, std::span<const Event> events);
  // fdatasyncs everything written so far.
  Status Sync();
  // Syncs, stops the sync thread, closes the segment and writes the durable mark (wal/DURABLE,
  // durable_mark.h; best effort: a failure to write it leaves the older mark). Later calls fail
  // (kFailedPrecondition).
  Status Close();
  // Syncs and starts a new segment at next_seq() unless the active one holds no record yet, so
  // that RemoveSegmentsBefore(next_seq()) can then remove every record logged so far (erasing a
  // forgotten user's events).
  Status Roll();
  // Removes the segments all of whose records have seq < `seq` (never the active one) and syncs
  // the directory.
  Status RemoveSegmentsBefore(uint64_t seq);

  // Highest seq known durable (next_seq - 1 at open). Lock-free.
  uint64_t SyncedThrough() const { return synced_through_.load(std::memory_order_acquire); }
  uint64_t next_seq() const;
  // The sticky failure (OK while healthy).
  Status status() const;
  // Whether the log's file system takes `bytes` more bytes now (after a full disk): writes,
  // fdatasyncs and removes kSpaceProbeFileName in the log directory; the log is not touched.
  Status ProbeSpace(size_t bytes) const;
  // Number of segment files currently in the log (retention tests, inspection).
  size_t segment_count() const;

 private:
  struct Segment {
    uint64_t number;
    uint64_t first_seq;
  };
  LogWriter(io::Env* env, std::string dir, const WriterOptions& options, uint64_t next_seq);

  Status LoadExistingSegments();                                // REQUIRES: mu_ held
  Status StartSegment();                                        // REQUIRES: mu_ held
  Status CreateSegment(const std::string& path);                // REQUIRES: mu_ held
  Status UndoBatch(uint64_t batch_start, const Status& error);  // REQUIRES: mu_ held
  Status SyncLocked();                                          // REQUIRES: mu_ held
  Status Fail(Status status);                                   // REQUIRES: mu_ held
  Status CheckUsable() const;                                   // REQUIRES: mu_ held
  void SyncLoop();

  io::Env* const env_;
  const std::string dir_;
  const WriterOptions options_;

  mutable std::mutex mu_;
  std::shared_ptr<io::WritableFile> file_;  // guarded by mu_; shared with an in-flight sync
  std::vector<Segment> segments_;           // guarded by mu_; oldest first, last = active
  std::string active_path_;                 // guarded by mu_; the active segment's file
  uint64_t next_segment_number_ = 1;        // guarded by mu_
  uint64_t active_bytes_ = 0;               // guarded by mu_
  uint64_t next_seq_;                       // guarded by mu_
  Status failure_;                          // guarded by mu_
  bool closed_ = false;                     // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  std::string buffer_;                      // guarded by mu_; encoded batch
  std::atomic<uint64_t> synced_through_;
  std::condition_variable stop_cv_;
  std::thread sync_thread_;  // interval mode only
};

}  // namespace flywheel::wal
