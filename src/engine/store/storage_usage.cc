#include "engine/store/storage_usage.h"

#include <cstdint>

#include "engine/store/snapshot_file.h"
#include "io/env.h"
#include "wal/log_format.h"

namespace flywheel::engine {
namespace {

// Sums the sizes of the files of `dir` that `wanted` accepts; *files counts them.
template <typename Wanted>
Status SumFiles(io::Env* env, const std::string& dir, Wanted wanted, uint64_t* bytes,
                uint64_t* files) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  for (const std::string& name : names) {
    if (!wanted(name)) {
      continue;
    }
    Result<uint64_t> size = env->FileSize(io::JoinPath(dir, name));
    if (!size.ok()) {
      continue;  // removed by retention since the listing
    }
    *bytes += *size;
    ++*files;
  }
  return Status::Ok();
}

}  // namespace

Result<StorageStats> MeasureStorage(io::Env* env, const std::string& data_dir) {
  StorageStats s;
  FLYWHEEL_RETURN_IF_ERROR(SumFiles(
      env, io::JoinPath(data_dir, "wal"),
      [](const std::string& name) {
        uint64_t number = 0;
        return wal::ParseSegmentFileName(name, &number);
      },
      &s.log_bytes, &s.log_segments));
  FLYWHEEL_RETURN_IF_ERROR(SumFiles(
      env, io::JoinPath(data_dir, "snapshots"),
      [](const std::string& name) {  // purge copies (snap-*.copy.fws) take disk space too
        return ParseSnapshotFileName(name).has_value() ||
               ParseSnapshotCopyFileName(name).has_value();
      },
      &s.snapshot_bytes, &s.snapshots));
  return s;
}

}  // namespace flywheel::engine
