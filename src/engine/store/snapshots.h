// Snapshots: writes, lists and prunes the snapshots of the learned state (doc/engine.md,
// "Snapshots"; format doc/formats/snapshot.md). A snapshot at sequence number S holds the
// LearnedState and the ingest side's dedup window as they were after applying S, and is written
// only once the log is durable through S. Retention keeps the newest `keep` snapshots and the
// log from the oldest of them on, so recovery can fall back to any kept one.
//
// Threads: Write from any thread (the learner's automatic snapshots, Snapshot(), ForgetUser,
// Close); write_mu_ makes them one at a time. It reads the state under its shared lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ingest/ingestor.h"
#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/store/snapshot_file.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

class Snapshots {
 public:
  Snapshots(io::Env* env, std::string dir, size_t keep, LearnedState* state, Ingestor* ingestor,
            const Learner* learner);

  // Every section of a snapshot of the current state (state lock taken shared); returns the
  // applied sequence number it reflects.
  Result<uint64_t> Serialize(std::vector<SnapshotSection>* sections) const;
  // Writes a snapshot now and keeps the newest `keep` (the configured number when 0). Returns
  // its sequence number.
  Result<uint64_t> Write(size_t keep = 0);
  // Sequence numbers of the snapshots on disk, newest first.
  Result<std::vector<uint64_t>> List() const;
  // Reads and checks snapshot `seq` (its bytes stay in *bytes, which the view points into).
  Result<SnapshotView> Read(uint64_t seq, std::string* bytes) const;

  // The newest snapshot's sequence number (0: none); set by recovery and by Write.
  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }
  void set_seq(uint64_t seq) { seq_.store(seq, std::memory_order_release); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }

 private:
  Status ApplyRetention(size_t keep);

  io::Env* const env_;
  const std::string dir_;
  const size_t keep_;
  LearnedState* const state_;
  Ingestor* const ingestor_;
  const Learner* const learner_;
  base::Mutex write_mu_;  // one snapshot at a time
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> written_{0};
};

}  // namespace flywheel::engine
