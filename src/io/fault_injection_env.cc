#include "io/fault_injection_env.h"

#include <algorithm>
#include <vector>

#include "base/random.h"

namespace flywheel::io {

namespace {
std::string ParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}
}  // namespace

// Forwards to the base file and keeps the env's per-file bookkeeping.
class FaultInjectionFile final : public WritableFile {
 public:
  FaultInjectionFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    Status fault;
    const uint64_t allowed = env_->PlanAppend(data.size(), &fault);
    if (allowed > 0) {
      FLYWHEEL_RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
      env_->RecordAppend(path_, allowed);
    }
    return fault;
  }
  Status Sync() override { return env_->FileSync(base_.get(), path_); }
  Status Close() override { return base_->Close(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

void FaultInjectionEnv::FailNthWrite(int n) {
  std::lock_guard lock(mu_);
  write_countdown_ = n;
}
void FaultInjectionEnv::FailNthSync(int n) {
  std::lock_guard lock(mu_);
  sync_countdown_ = n;
}
void FaultInjectionEnv::FailNthRename(int n) {
  std::lock_guard lock(mu_);
  rename_countdown_ = n;
}
void FaultInjectionEnv::SetSpaceLimit(uint64_t bytes) {
  std::lock_guard lock(mu_);
  space_left_ = bytes;
}
void FaultInjectionEnv::CrashAtNthOperation(int n) {
  std::lock_guard lock(mu_);
  crash_countdown_ = n;
}
void FaultInjectionEnv::Halt() {
  std::lock_guard lock(mu_);
  active_ = false;
}
bool FaultInjectionEnv::halted() const {
  std::lock_guard lock(mu_);
  return !active_;
}
void FaultInjectionEnv::set_torn_tail(TornTail tail) {
  std::lock_guard lock(mu_);
  torn_tail_ = tail;
}
int64_t FaultInjectionEnv::operations() const {
  std::lock_guard lock(mu_);
  return operations_;
}
void FaultInjectionEnv::set_forward_syncs(bool forward) {
  std::lock_guard lock(mu_);
  forward_syncs_ = forward;
}
void FaultInjectionEnv::Reactivate() {
  std::lock_guard lock(mu_);
  active_ = true;
}
uint64_t FaultInjectionEnv::UnsyncedBytes(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? 0 : it->second.size - it->second.synced;
}
int64_t FaultInjectionEnv::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}
int64_t FaultInjectionEnv::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

bool FaultInjectionEnv::Hit(int* countdown) {
  if (*countdown <= 0) {
    return false;
  }
  return --*countdown == 0;
}

Status FaultInjectionEnv::CheckActive() const {
  return active_ ? Status::Ok() : Status::IoError("io: simulated crash: file system inactive");
}

bool FaultInjectionEnv::CountOperation() {
  ++operations_;
  if (Hit(&crash_countdown_)) {
    active_ = false;
    return false;
  }
  return true;
}

uint64_t FaultInjectionEnv::PlanAppend(uint64_t n, Status* fault) {
  std::lock_guard lock(mu_);
  ++writes_;
  *fault = CheckActive();
  if (!fault->ok()) {
    return 0;
  }
  if (!CountOperation()) {
    *fault = Status::IoError("io: simulated crash during a write");
    return n / 2;
  }
  if (Hit(&write_countdown_)) {
    *fault = Status::IoError("io: injected write failure");
    return n / 2;
  }
  if (n > space_left_) {
    *fault = Status::ResourceExhausted("io: injected ENOSPC: no space left on device");
    const uint64_t fits = space_left_;
    space_left_ = 0;
    return fits;
  }
  if (space_left_ != UINT64_MAX) {
    space_left_ -= n;
  }
  return n;
}

void FaultInjectionEnv::RecordAppend(const std::string& path, uint64_t n) {
  std::lock_guard lock(mu_);
  files_[path].size += n;
}

Status FaultInjectionEnv::FileSync(WritableFile* base_file, const std::string& path) {
  uint64_t size_before = 0;
  bool forward = true;
  {
    std::lock_guard lock(mu_);
    ++syncs_;
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
    if (Hit(&sync_countdown_)) {
      return Status::IoError("io: fdatasync failed on " + path + ": injected failure (fatal)");
    }
    size_before = files_[path].size;
    forward = forward_syncs_;
  }
  if (forward) {
    FLYWHEEL_RETURN_IF_ERROR(base_file->Sync());
  }
  std::lock_guard lock(mu_);
  FileState& state = files_[path];
  state.synced = std::max(state.synced, size_before);
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::OpenWritable(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base, base_->OpenWritable(path));
  std::lock_guard lock(mu_);
  files_[path] = FileState{};
  return std::unique_ptr<WritableFile>(new FaultInjectionFile(this, path, std::move(base)));
}

Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard lock(mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
    if (Hit(&rename_countdown_)) {
      return Status::IoError("io: injected rename failure " + from + " -> " + to);
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    FileState state = it->second;
    state.durable_name = false;  // the new name needs a directory sync
    files_.erase(it);
    files_[to] = state;
  }
  return Status::Ok();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  bool forward = true;
  {
    std::lock_guard lock(mu_);
    ++syncs_;
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
    if (Hit(&sync_countdown_)) {
      return Status::IoError("io: fdatasync failed on directory " + dir + ": injected (fatal)");
    }
    forward = forward_syncs_;
  }
  if (forward) {
    FLYWHEEL_RETURN_IF_ERROR(base_->SyncDir(dir));
  }
  std::lock_guard lock(mu_);
  for (auto& [path, state] : files_) {
    if (ParentDir(path) == dir || ParentDir(path) + "/" == dir) {
      state.durable_name = true;
    }
  }
  return Status::Ok();
}

Status FaultInjectionEnv::Truncate(const std::string& path, uint64_t size) {
  {
    std::lock_guard lock(mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckActive());
    if (!CountOperation()) {
      return Status::IoError("io: simulated crash");
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.size = std::min(it->second.size, size);
    it->second.synced = std::min(it->second.synced, size);
  }
  return Status::Ok();
}

Status FaultInjectionEnv::FillTornTail(const std::string& path, uint64_t keep, uint64_t fill,
                                       bool zeros, uint64_t seed) {
  std::string content;
  FLYWHEEL_RETURN_IF_ERROR(ReadFileToString(base_, path, &content));
  content.resize(keep);
  base::Rng rng(seed);
  for (uint64_t i = 0; i < fill; ++i) {
    content.push_back(zeros ? '\0' : static_cast<char>(rng.Next() & 0xff));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->OpenWritable(path));
  FLYWHEEL_RETURN_IF_ERROR(file->Append(content));
  FLYWHEEL_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

Status FaultInjectionEnv::SimulateCrash(uint64_t seed) {
  std::map<std::string, FileState> files;
  TornTail tail = TornTail::kCut;
  {
    std::lock_guard lock(mu_);
    active_ = false;
    files.swap(files_);
    tail = torn_tail_;
  }
  base::Rng rng(seed);
  Status first_error;
  for (const auto& [path, state] : files) {
    const uint64_t unsynced = state.size - std::min(state.size, state.synced);
    const uint64_t kept = seed == 0 || unsynced == 0 ? 0 : rng.Uniform(unsynced + 1);
    const uint64_t fill =
        seed == 0 || tail == TornTail::kCut ? 0 : rng.Uniform(unsynced - kept + 1);
    Status status = !state.durable_name ? base_->RemoveFile(path)
                    : fill > 0          ? FillTornTail(path, state.synced + kept, fill,
                                                       tail == TornTail::kZeros, rng.Next())
                    : unsynced > kept   ? base_->Truncate(path, state.synced + kept)
                                        : Status::Ok();
    if (!status.ok() && status.code() != StatusCode::kNotFound && first_error.ok()) {
      first_error = status;
    }
  }
  return first_error;
}

}  // namespace flywheel::io
