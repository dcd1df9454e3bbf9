// FaultInjectionEnv: an Env for tests that wraps another Env (usually Env::Default() on a temp
// directory) and simulates crashes and I/O errors deterministically (after RocksDB's
// FaultInjectionTestFS and SQLite's test6.c):
//   - it tracks, per file written through it, how many bytes were synced; SimulateCrash() stops
//     all further I/O and drops unsynced bytes (power loss), and deletes files created since the
//     last SyncDir() of their directory;
//   - FailNthWrite / FailNthSync / FailNthRename make the n-th such call from now fail (kIoError;
//     a failing write first writes half of its data, like a torn write);
//   - SetSpaceLimit(k) makes appends fail with kResourceExhausted once k more bytes were written
//     (what fits is written first, as a real ENOSPC would leave it);
//   - CrashAtNthOperation(n) / Halt() stop the file system at a chosen point (the n-th mutating
//     call, an append cut in half) without dropping anything yet, so that a test can tear down
//     what used it and then call SimulateCrash();
//   - set_torn_tail(kZeros / kGarbage) makes SimulateCrash() leave, after the kept prefix of a
//     file's unsynced bytes, a run of zero or random bytes (size metadata written back before the
//     data: what ext4/XFS can show after a power loss), instead of just cutting the file.
// Files opened for writing before the env existed, or through the base env, are not tracked;
// tracked files deleted behind its back are ignored by SimulateCrash().
// Thread safety: all methods may be called concurrently (one mutex guards the bookkeeping; the
// base env's calls run outside it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "io/env.h"

namespace flywheel::io {

class FaultInjectionEnv final : public Env {
 public:
  // `base` is not owned and must outlive this env.
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // Fault knobs. n counts calls from now, 1-based; 0 disables. Sync counts file syncs and
  // directory syncs together (deterministic as long as no background thread syncs).
  void FailNthWrite(int n);
  void FailNthSync(int n);
  void FailNthRename(int n);
  // Fail appends with kResourceExhausted after `bytes` more bytes (UINT64_MAX: no limit).
  void SetSpaceLimit(uint64_t bytes);
  // The n-th mutating call from now (append, sync, directory sync, open for writing, rename,
  // remove, truncate; 1-based; 0 disables) and every later one fail with kIoError "simulated
  // crash" (an append writes half of its data first); unsynced data stays until SimulateCrash().
  void CrashAtNthOperation(int n);
  // The same, now.
  void Halt();
  // True once the file system stopped (Halt, CrashAtNthOperation or SimulateCrash).
  bool halted() const;
  // When it last stopped (steady clock; the epoch if it never did).
  std::chrono::steady_clock::time_point halted_at() const;
  // What SimulateCrash(seed != 0) leaves after a file's kept unsynced prefix (see above).
  enum class TornTail { kCut, kZeros, kGarbage };
  void set_torn_tail(TornTail tail);
  // When true, SimulateCrash() also undoes directory operations not made durable by a SyncDir():
  // an unsynced rename is either kept or undone (the old name comes back, and the file it
  // replaced), an unsynced removal of a durable file is kept or undone (the file comes back with
  // its synced content). `in_order`: the operations reached the disk in the order they were made,
  // so a crash undoes a random suffix of them (what a journaling file system such as ext4 or XFS
  // does); false: each one independently (all POSIX promises). Seed 0: all are undone.
  // Default false: a file whose name is not durable is removed and removals stay.
  void set_undo_unsynced_names(bool undo, bool in_order = true);
  // Mutating calls so far (what CrashAtNthOperation counts).
  int64_t operations() const;

  // When false, Sync()/SyncDir() update the bookkeeping but skip the real fsync (fast tests;
  // durability is simulated by SimulateCrash() anyway). Default true.
  void set_forward_syncs(bool forward);

  // Power loss: from now on every Append/Sync/Rename/Remove/OpenWritable/Truncate fails with
  // kIoError "simulated crash"; unsynced bytes of tracked files are dropped (files truncated to
  // their synced size) and files not yet made durable by a SyncDir() are removed. With a non-zero
  // `seed`, each file instead keeps a random prefix of its unsynced bytes (partial writeback; the
  // choice is a function of the seed), followed under kZeros/kGarbage by a random part of the rest
  // as zero or random bytes. Call Reactivate() before recovery.
  Status SimulateCrash(uint64_t seed = 0);
  void Reactivate();

  uint64_t UnsyncedBytes(const std::string& path) const;
  int64_t writes() const;
  int64_t syncs() const;

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> OpenSequential(const std::string& path) override {
    return base_->OpenSequential(path);
  }
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override;
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status Truncate(const std::string& path, uint64_t size) override;
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }

 private:
  friend class FaultInjectionFile;
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool durable_name = false;  // a SyncDir() of its directory happened after creation
    // Set by an unsynced rename: the name before it, whether that name was durable, and the
    // durable content of the file the rename replaced (if there was one).
    std::string renamed_from;
    bool from_durable = false;
    bool replaced_a_file = false;
    std::string replaced;
    uint64_t rename_order = 0;  // position among the unsynced directory operations
  };
  struct Removed {
    std::string content;  // what was durable
    uint64_t order = 0;
  };
  // After a crash with undo_names_: puts `path`'s pre-rename state back (see above).
  Status UndoRename(const std::string& path, const FileState& state);
  Status WriteWhole(const std::string& path, const std::string& content);

  // Decides the fate of an append of `n` bytes to `path`: returns how many bytes to really write
  // and sets `*fault` to the error to return afterwards (OK for none).
  uint64_t PlanAppend(uint64_t n, Status* fault);
  void RecordAppend(const std::string& path, uint64_t n);
  Status FileSync(WritableFile* base_file, const std::string& path);
  Status CheckActive() const;  // REQUIRES: mu_ held
  void Stop();                 // REQUIRES: mu_ held. Inactive from now (records when).
  // Counts a mutating call; false when it is the crash point (the env is halted then).
  bool CountOperation();  // REQUIRES: mu_ held
  Status FillTornTail(const std::string& path, uint64_t keep, uint64_t fill, bool zeros,
                      uint64_t seed);
  static bool Hit(int* countdown);

  Env* const base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;           // guarded by mu_
  int write_countdown_ = 0;                          // guarded by mu_
  int sync_countdown_ = 0;                           // guarded by mu_
  int rename_countdown_ = 0;                         // guarded by mu_
  uint64_t space_left_ = UINT64_MAX;                 // guarded by mu_
  bool forward_syncs_ = true;                        // guarded by mu_
  bool active_ = true;                               // guarded by mu_
  std::chrono::steady_clock::time_point halted_at_;  // guarded by mu_
  int64_t writes_ = 0;                               // guarded by mu_
  int64_t syncs_ = 0;                                // guarded by mu_
  int crash_countdown_ = 0;                          // guarded by mu_
  int64_t operations_ = 0;                           // guarded by mu_
  TornTail torn_tail_ = TornTail::kCut;              // guarded by mu_
  bool undo_names_ = false;                          // guarded by mu_
  bool undo_in_order_ = true;                        // guarded by mu_
  uint64_t dir_ops_ = 0;                             // guarded by mu_
  // Durable files removed since their directory's last SyncDir(), with their content.
  std::map<std::string, Removed> removed_;  // guarded by mu_
};

}  // namespace flywheel::io
