#include "io/env.h"

namespace flywheel::io {

Status ReadFileToString(Env* env, const std::string& path, std::string* out) {
  out->clear();
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file, env->OpenSequential(path));
  constexpr size_t kChunk = 1 << 20;
  for (;;) {
    const size_t old_size = out->size();
    out->resize(old_size + kChunk);
    Result<size_t> got = file->Read(kChunk, out->data() + old_size);
    if (!got.ok()) {
      out->clear();
      return got.status();
    }
    out->resize(old_size + *got);
    if (*got == 0) {
      return Status::Ok();
    }
  }
}

bool IsSyncFailure(const Status& status) {
  return status.code() == StatusCode::kIoError &&
         status.message().find("fdatasync failed") != std::string::npos;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') {
    path += '/';
  }
  path += name;
  return path;
}

}  // namespace flywheel::io
