#include "engine/store/backup.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "flywheel/engine.h"

#include "engine/store/snapshot_file.h"
#include "io/env.h"

namespace flywheel::engine {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kSegmentHeader = 20;  // magic, version, first_seq, crc (event_log.md)

// A source file removed while it was being copied (retention, a user deletion): start over.
struct Vanished {
  bool yes = false;
};

// Copies `from` to `to` (whatever `from` holds when read), fdatasyncs it, returns the bytes.
// Sets *vanished when `from` no longer exists.
Result<uint64_t> CopyFile(io::Env* env, const std::string& from, const std::string& to,
                          Vanished* vanished) {
  auto in = env->OpenSequential(from);
  if (!in.ok()) {
    vanished->yes = !env->FileExists(from);
    return in.status();
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> out, env->OpenWritable(to));
  std::string buf(kChunk, '\0');
  uint64_t total = 0;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(size_t n, (*in)->Read(kChunk, buf.data()));
    if (n == 0) {
      break;
    }
    FLYWHEEL_RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), n)));
    total += n;
  }
  FLYWHEEL_RETURN_IF_ERROR(out->Sync());
  FLYWHEEL_RETURN_IF_ERROR(out->Close());
  return total;
}

// The first_seq of a segment's header; nullopt when the header is not complete yet.
std::optional<uint64_t> SegmentFirstSeq(io::Env* env, const std::string& path) {
  auto in = env->OpenSequential(path);
  if (!in.ok()) {
    return std::nullopt;
  }
  char header[kSegmentHeader];
  auto n = (*in)->Read(kSegmentHeader, header);
  if (!n.ok() || *n < kSegmentHeader) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (int i = 7; i >= 0; --i) {
    seq = (seq << 8) | static_cast<unsigned char>(header[8 + i]);
  }
  return seq;
}

// Segment file names of `wal_dir` in segment-number order.
Result<std::vector<std::string>> ListSegments(io::Env* env, const std::string& wal_dir) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(wal_dir));
  std::vector<std::pair<uint64_t, std::string>> numbered;
  for (const std::string& name : names) {
    const size_t dot = name.find(".log");
    if (dot == 0 || dot == std::string::npos || dot + 4 != name.size() ||
        !std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(dot),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    numbered.emplace_back(std::stoull(name.substr(0, dot)), name);
  }
  std::sort(numbered.begin(), numbered.end());
  std::vector<std::string> out;
  out.reserve(numbered.size());
  for (auto& entry : numbered) {
    out.push_back(std::move(entry.second));
  }
  return out;
}

// The files of one copy, relative to the data directory, in copy order.
Result<std::vector<std::string>> PlanCopy(io::Env* env, const std::string& dir,
                                          uint64_t* snapshot_seq) {
  std::vector<std::string> files = {"engine.json"};
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> snaps,
                            ListSnapshots(env, io::JoinPath(dir, "snapshots")));
  *snapshot_seq = snaps.empty() ? 0 : snaps.front();
  if (*snapshot_seq != 0) {
    files.push_back("snapshots/" + SnapshotFileName(*snapshot_seq));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> segments,
                            ListSegments(env, io::JoinPath(dir, "wal")));
  // The last segment whose first record is at or before snapshot_seq + 1 holds the next record.
  size_t start = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    std::optional<uint64_t> first = SegmentFirstSeq(env, io::JoinPath(dir, "wal/" + segments[i]));
    if (first.has_value() && *first <= *snapshot_seq + 1) {
      start = i;
    }
  }
  for (size_t i = start; i < segments.size(); ++i) {
    files.push_back("wal/" + segments[i]);
  }
  return files;
}

// One attempt. *vanished: a source file disappeared (retry).
Status CopyOnce(io::Env* env, const BackupOptions& options, BackupResult* result,
                Vanished* vanished) {
  std::vector<std::string> files;
  FLYWHEEL_ASSIGN_OR_RETURN(files, PlanCopy(env, options.data_dir, &result->snapshot_seq));
  for (const char* sub : {"snapshots", "wal"}) {
    FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(io::JoinPath(options.to, sub)));
  }
  // A previous attempt's files must not stay behind (a stale segment would be replayed).
  for (const std::string& file : result->files) {
    (void)env->RemoveFile(io::JoinPath(options.to, file));
  }
  result->files.clear();
  result->bytes = 0;
  for (const std::string& file : files) {
    result->files.push_back(file);
    FLYWHEEL_ASSIGN_OR_RETURN(uint64_t n, CopyFile(env, io::JoinPath(options.data_dir, file),
                                                   io::JoinPath(options.to, file), vanished));
    result->bytes += n;
  }
  for (const char* sub : {"snapshots", "wal", ""}) {
    FLYWHEEL_RETURN_IF_ERROR(env->SyncDir(io::JoinPath(options.to, sub)));
  }
  return Status::Ok();
}

// Each copied file must equal the same-length prefix of its source (when the source still
// exists: retention may have removed it since, which does not make the copy wrong).
Status VerifyPrefixes(io::Env* env, const BackupOptions& options, const BackupResult& result) {
  for (const std::string& file : result.files) {
    const std::string source = io::JoinPath(options.data_dir, file);
    std::string copied;
    std::string live;
    FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env, io::JoinPath(options.to, file), &copied));
    if (!io::ReadFileToString(env, source, &live).ok()) {
      continue;
    }
    if (live.size() < copied.size() || live.compare(0, copied.size(), copied) != 0) {
      // engine.json is rewritten only when a directory is created; anything else is a bug.
      return Status::Internal("backup: " + file + ": the copy is not a prefix of the live file");
    }
  }
  return Status::Ok();
}

Status CheckTarget(io::Env* env, const BackupOptions& options) {
  if (!env->FileExists(io::JoinPath(options.data_dir, "engine.json"))) {
    return Status::InvalidArgument("backup: " + options.data_dir +
                                   " is not a data directory (no engine.json)");
  }
  if (env->FileExists(options.to)) {
    auto names = env->ListDir(options.to);
    if (!names.ok() || !names->empty()) {
      return Status::InvalidArgument("backup: --to " + options.to +
                                     " exists and is not an empty directory");
    }
  }
  return env->CreateDir(options.to);
}

}  // namespace

Result<BackupResult> BackupDataDir(const BackupOptions& options) {
  io::Env* env = io::Env::Default();
  FLYWHEEL_RETURN_IF_ERROR(CheckTarget(env, options));
  BackupResult result;
  Status status;
  for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
    result.attempts = attempt;
    Vanished vanished;
    status = CopyOnce(env, options, &result, &vanished);
    if (status.ok() || !vanished.yes) {
      break;
    }
  }
  if (!status.ok()) {
    return status.WithPrefix("backup");
  }
  FLYWHEEL_RETURN_IF_ERROR(VerifyPrefixes(env, options, result));
  EngineOptions check;
  check.data_dir = options.to;
  check.read_only = true;
  auto opened = Engine::Open(check);
  if (!opened.ok()) {
    return opened.status().WithPrefix("backup: the copy does not open");
  }
  const EngineStats stats = (*opened)->stats();
  result.last_seq = stats.last_seq;
  result.recovery_messages = stats.recovery_messages;
  return result;
}

}  // namespace flywheel::engine
