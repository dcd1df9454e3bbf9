#include "wal/durable_mark.h"

#include <algorithm>
#include <memory>

#include "base/crc32c.h"
#include "wal/coding.h"
#include "wal/log_format.h"

namespace flywheel::wal {
namespace {

constexpr std::string_view kMagic = "FWDM";
constexpr size_t kMarkSize = 4 + 8 + 8 + 8 + 4;  // 32

}  // namespace

Status WriteDurableMark(io::Env* env, const std::string& dir, const DurableMark& mark) {
  std::string data(kMagic);
  PutFixed64(&data, mark.last_seq);
  PutFixed64(&data, mark.segment);
  PutFixed64(&data, mark.bytes);
  PutFixed32(&data, base::crc32c::Mask(base::crc32c::Value(data.data(), data.size())));
  const std::string path = io::JoinPath(dir, kDurableMarkName);
  const std::string tmp = path + ".tmp";
  {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file, env->OpenWritable(tmp));
    FLYWHEEL_RETURN_IF_ERROR(file->Append(data));
    FLYWHEEL_RETURN_IF_ERROR(file->Sync());
    FLYWHEEL_RETURN_IF_ERROR(file->Close());
  }
  FLYWHEEL_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(dir);
}

Status MarkLogDurable(io::Env* env, const std::string& dir, uint64_t last_seq) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  DurableMark mark;
  mark.last_seq = last_seq;
  for (const std::string& name : names) {
    uint64_t number = 0;
    if (ParseSegmentFileName(name, &number) && number >= mark.segment) {
      mark.segment = number;
    }
  }
  if (mark.segment != 0) {
    FLYWHEEL_ASSIGN_OR_RETURN(mark.bytes,
                              env->FileSize(io::JoinPath(dir, SegmentFileName(mark.segment))));
  }
  return WriteDurableMark(env, dir, mark);
}

Result<std::optional<DurableMark>> ReadDurableMark(io::Env* env, const std::string& dir) {
  const std::string path = io::JoinPath(dir, kDurableMarkName);
  if (!env->FileExists(path)) {
    return std::optional<DurableMark>();
  }
  std::string data;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env, path, &data));
  if (data.size() != kMarkSize || std::string_view(data.data(), 4) != kMagic ||
      base::crc32c::Unmask(DecodeFixed32(data.data() + 28)) !=
          base::crc32c::Value(data.data(), 28)) {
    return Status::Corruption("wal: damaged durable mark " + path + " (" +
                              std::to_string(data.size()) + " bytes; ignored)");
  }
  DurableMark mark;
  mark.last_seq = DecodeFixed64(data.data() + 4);
  mark.segment = DecodeFixed64(data.data() + 12);
  mark.bytes = DecodeFixed64(data.data() + 20);
  return std::optional<DurableMark>(mark);
}

Status RemoveDurableMark(io::Env* env, const std::string& dir) {
  const std::string path = io::JoinPath(dir, kDurableMarkName);
  if (!env->FileExists(path)) {
    return Status::Ok();
  }
  FLYWHEEL_RETURN_IF_ERROR(env->RemoveFile(path));
  return env->SyncDir(dir);
}

}  // namespace flywheel::wal
