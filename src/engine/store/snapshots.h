// Snapshots: writes, lists and prunes the snapshots of the learned state (doc/engine.md,
// "Snapshots" and "Redundancy and what one bad byte can cost"; format doc/formats/snapshot.md).
// A snapshot at sequence number S holds the LearnedState and the ingest side's dedup window as
// they were after applying S, and is written only once the log is durable through S.
//
// Every snapshot is verified before it counts: written to a temp file, fdatasynced, read back
// and decoded through the real decoders (file checksums, then LearnedState::Load into a scratch
// state), and only then renamed into place. Retention runs only after that: it keeps the newest
// `keep` (>= 2) snapshots and the log from the oldest of them on, so one bad snapshot falls back
// to the previous one and the log since it. A purge (after a user deletion) keeps nothing older
// than its snapshot, so it writes that snapshot twice (snap-S.copy.fws, then snap-S.fws, each
// verified) before it removes the older snapshots and segments.
//
// Threads: Write/WritePurge from any thread (the learner's automatic snapshots, Snapshot(),
// ForgetUser, Close, recovery); write_mu_ makes them one at a time. Serialisation takes the
// state's lock shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
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
  // Writes a verified snapshot now, then applies retention (the newest `keep` snapshots, the log
  // from the oldest of them on, no purge copy older than the newest snapshot). Returns its
  // sequence number. A snapshot that fails its read back is kCorruption ("... read back ...");
  // then nothing was renamed and nothing older removed.
  Result<uint64_t> Write();
  // The purge after a user deletion: writes a verified copy and then the verified snapshot of
  // the current state, then FinishPurge. Returns its sequence number.
  Result<uint64_t> WritePurge();
  // Removes every snapshot file (and copy) older than `seq` and every log segment all of whose
  // records are <= seq. Idempotent: recovery calls it again after loading a purge snapshot, in
  // case a crash cut the purge short.
  Status FinishPurge(uint64_t seq);
  // Removes leftover snap-*.tmp files (a write cut short by a crash; they may hold a forgotten
  // user's data). Returns their names. Call before any Write (at open).
  Result<std::vector<std::string>> RemoveTempFiles();

  // Sequence numbers of the snapshots on disk, newest first; with `copies`, of the purge copies.
  Result<std::vector<uint64_t>> List(bool copies = false) const;
  // Reads and checks the snapshot file `name` that must hold `seq` (its bytes stay in *bytes,
  // which the view points into).
  Result<SnapshotView> Read(const std::string& name, uint64_t seq, std::string* bytes) const;
  Result<SnapshotView> Read(uint64_t seq, std::string* bytes) const {
    return Read(SnapshotFileName(seq), seq, bytes);
  }
  bool Exists(const std::string& name) const;

  // The newest snapshot's sequence number (0: none); set by recovery and by Write.
  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }
  void set_seq(uint64_t seq) { seq_.store(seq, std::memory_order_release); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }

 private:
  // Serialises and writes the snapshot (and first its copy when `copy`), each verified.
  Result<uint64_t> WriteLocked(bool copy) REQUIRES(write_mu_);
  // Reads the file at `path` back and decodes it as snapshot `name` at `seq`, state included.
  Status Verify(const std::string& path, const std::string& name, uint64_t seq) const;
  Status ApplyRetention() REQUIRES(write_mu_);
  Status RemoveFiles(const std::vector<std::string>& names);

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
