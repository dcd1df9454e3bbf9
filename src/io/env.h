// Env: the file-system interface used by the event log and snapshots, so that tests can inject
// faults (FaultInjectionEnv) while production uses real syscalls (Env::Default(), PosixEnv).
//
// Error contract: every call returns kIoError naming the path and strerror, except: a missing file
// or directory is kNotFound, a full disk (ENOSPC, EDQUOT) is kResourceExhausted, and a failed
// fdatasync is kIoError whose message contains "fdatasync failed" (IsSyncFailure()). A failed
// sync must be treated as fatal by the caller: the kernel may have dropped the dirty pages, so a
// later successful sync proves nothing (PostgreSQL "fsyncgate").
//
// Ownership: files are owned by the returned unique_ptr; destroying an open WritableFile closes
// it without syncing. Thread safety: an Env is safe for concurrent use. A WritableFile allows one
// Append() at a time, and Sync() may run concurrently with Append() (the interval-mode sync
// thread relies on this). A SequentialFile is for one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/status.h"

namespace flywheel::io {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` (loops over short writes). On error some prefix may have been written.
  virtual Status Append(std::string_view data) = 0;
  // fdatasync: after OK, everything appended before the call is durable.
  virtual Status Sync() = 0;
  // Closes the descriptor (no sync). Further calls are kFailedPrecondition.
  virtual Status Close() = 0;
};

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to `n` bytes into `scratch`; returns the count, 0 at end of file.
  virtual Result<size_t> Read(size_t n, char* scratch) = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates `path` (truncating an existing file) for appending: every Append goes to the file's
  // current end (O_APPEND), so after Truncate() of the open file appends continue at the cut.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> OpenSequential(const std::string& path) = 0;
  // Atomic rename (POSIX rename semantics: replaces `to`).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // File names (not paths) in `dir`, without "." and "..", sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and missing parents; OK if it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // fsync of the directory, making creations, renames and removals in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Truncates `path` to `size` bytes and fdatasyncs it.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual bool FileExists(const std::string& path) = 0;

  // The process-wide PosixEnv (never destroyed).
  static Env* Default();
};

// Reads the whole file into `*out` (replacing its contents).
Status ReadFileToString(Env* env, const std::string& path, std::string* out);

// True for the status of a failed fdatasync/fsync (see the error contract above).
bool IsSyncFailure(const Status& status);

// "dir/name" (no separator added when `dir` is empty).
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace flywheel::io
