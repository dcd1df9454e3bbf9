// Backup: a consistent copy of a data directory that a live server may be writing
// (doc/operations.md, "Backup and restore"). `flywheel backup` is its only caller.
//
// What is copied, in this order: engine.json; the newest snapshot (written once, by rename, so
// it is complete); the log segments from the one holding the record after that snapshot on, in
// increasing segment order, each up to its size when the copy reaches it. Appends are
// sequential, so every copied segment is a byte prefix of the live one and the copy is the
// log's prefix up to some sequence number B (the backup point): every event acknowledged
// before the backup started is at or below B (acknowledged bytes are in the kernel, in either
// durability mode). A record being appended while the copy reads it ends the copy in a torn
// tail, which recovery cuts. Every copied file is fdatasynced, then the directories.
//
// Races with the live engine: retention or a user deletion may remove the snapshot or a
// segment while it is copied; the whole copy then starts again (at most `attempts` times).
// Verification: each copied file is compared with the live file's same prefix once more, and
// the copy is recovered read-only (Engine::Open): its last sequence number is B.
//
// Thread safety: Run is a one-shot operation on the calling thread; nothing is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flywheel/result.h"

namespace flywheel::engine {

struct BackupOptions {
  std::string data_dir;  // the source (may be open by a server)
  std::string to;        // the target: must not exist or be an empty directory
  int attempts = 5;
};

struct BackupResult {
  uint64_t snapshot_seq = 0;       // the snapshot copied (0: none, the whole log was copied)
  uint64_t last_seq = 0;           // the backup point B: the copy's last sequence number
  uint64_t bytes = 0;              // bytes copied
  std::vector<std::string> files;  // relative paths copied
  int attempts = 0;                // copies started (1 unless a file vanished)
  std::vector<std::string> recovery_messages;  // the verification's (a torn tail cut, ...)
};

// kInvalidArgument for a missing source or a non-empty target, kIoError for copy failures
// (also when every attempt raced with a file removal), the copy's recovery error when it does
// not open.
Result<BackupResult> BackupDataDir(const BackupOptions& options);

}  // namespace flywheel::engine
