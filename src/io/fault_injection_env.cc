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
  Stop();
}
std::chrono::steady_clock::time_point FaultInjectionEnv::halted_at() const {
  std::lock_guard lock(mu_);
  return halted_at_;
}
bool FaultInjectionEnv::halted() const {
  std::lock_guard lock(mu_);
  return !active_;
}
void FaultInjectionEnv::set_torn_tail(TornTail tail) {
  std::lock_guard lock(mu_);
  torn_tail_ = tail;
}
void FaultInjectionEnv::set_undo_unsynced_names(bool undo, bool in_order) {
  std::lock_guard lock(mu_);
  undo_names_ = undo;
  undo_in_order_ = in_order;
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

void FaultInjectionEnv::Stop() {
  if (active_) {
    active_ = false;
    halted_at_ = std::chrono::steady_clock::now();
  }
}

bool FaultInjectionEnv::CountOperation() {
  ++operations_;
  if (Hit(&crash_countdown_)) {
    Stop();
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
  // What a crash before the next directory sync could bring back: the replaced file's durable
  // content (an untracked file is durable as it is; a tracked one up to its synced size).
  bool replaced_a_file = false;
  std::string replaced;
  bool undo = false;
  {
    std::lock_guard lock(mu_);
    undo = undo_names_;
  }
  if (undo && base_->FileExists(to)) {
    FLYWHEEL_RETURN_IF_ERROR(ReadFileToString(base_, to, &replaced));
    std::lock_guard lock(mu_);
    auto old = files_.find(to);
    replaced_a_file = old == files_.end() || old->second.durable_name;
    if (old != files_.end()) {
      replaced.resize(std::min<uint64_t>(replaced.size(), old->second.synced));
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  FileState state;
  if (it != files_.end()) {
    state = it->second;
    files_.erase(it);
  } else {  // untracked: it was there before this env, durable as it is
    auto size = base_->FileSize(to);
    state.size = state.synced = size.ok() ? *size : 0;
    state.durable_name = true;
  }
  if (undo && state.renamed_from.empty()) {
    state.renamed_from = from;
    state.from_durable = state.durable_name;
    state.replaced_a_file = replaced_a_file;
    state.replaced = std::move(replaced);
    state.rename_order = ++dir_ops_;
  }
  state.durable_name = false;  // the new name needs a directory sync
  if (undo || it != files_.end()) {
    files_[to] = std::move(state);
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
  std::string content;
  bool keep = false;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    keep = undo_names_ && (it == files_.end() || it->second.durable_name);
  }
  if (keep && ReadFileToString(base_, path, &content).ok()) {
    std::lock_guard lock(mu_);
    auto it = files_.find(path);
    if (it != files_.end()) {
      content.resize(std::min<uint64_t>(content.size(), it->second.synced));
    }
  } else {
    keep = false;
  }
  FLYWHEEL_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  files_.erase(path);
  if (keep) {
    removed_[path] = Removed{std::move(content), ++dir_ops_};
  }
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
  auto in_dir = [&dir](const std::string& path) {
    return ParentDir(path) == dir || ParentDir(path) + "/" == dir;
  };
  for (auto& [path, state] : files_) {
    if (in_dir(path)) {
      state.durable_name = true;
      state.renamed_from.clear();
      state.replaced.clear();
      state.replaced_a_file = false;
    }
  }
  for (auto it = removed_.begin(); it != removed_.end();) {
    it = in_dir(it->first) ? removed_.erase(it) : std::next(it);
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

Status FaultInjectionEnv::WriteWhole(const std::string& path, const std::string& content) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->OpenWritable(path));
  FLYWHEEL_RETURN_IF_ERROR(file->Append(content));
  FLYWHEEL_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

Status FaultInjectionEnv::UndoRename(const std::string& path, const FileState& state) {
  Status status =
      state.from_durable ? base_->Rename(path, state.renamed_from) : base_->RemoveFile(path);
  if (status.ok() && state.from_durable) {
    // The data under the old name: what was synced (the rest is lost as for any file).
    status = base_->Truncate(state.renamed_from, state.synced);
  }
  if (status.ok() && state.replaced_a_file) {
    status = WriteWhole(path, state.replaced);
  }
  return status;
}

Status FaultInjectionEnv::SimulateCrash(uint64_t seed) {
  std::map<std::string, FileState> files;
  std::map<std::string, Removed> removed;
  TornTail tail = TornTail::kCut;
  bool undo = false;
  bool in_order = true;
  {
    std::lock_guard lock(mu_);
    Stop();
    files.swap(files_);
    removed.swap(removed_);
    tail = torn_tail_;
    undo = undo_names_;
    in_order = undo_in_order_;
  }
  base::Rng rng(seed);
  // In order: the unsynced directory operations from the cut on are undone.
  std::vector<uint64_t> orders;
  for (const auto& [path, state] : files) {
    if (!state.durable_name && !state.renamed_from.empty()) {
      orders.push_back(state.rename_order);
    }
  }
  for (const auto& [path, gone] : removed) {
    orders.push_back(gone.order);
  }
  std::sort(orders.begin(), orders.end());
  const uint64_t cut = seed == 0 || orders.empty() ? 0 : orders[rng.Uniform(orders.size())];
  const bool all_kept = seed != 0 && !orders.empty() && rng.Uniform(orders.size() + 1) == 0;
  auto undone = [&](uint64_t order) {
    if (seed == 0) {
      return true;
    }
    return in_order ? !all_kept && order >= cut : rng.Uniform(2) == 0;
  };
  Status first_error;
  auto note = [&first_error](const Status& status) {
    if (!status.ok() && status.code() != StatusCode::kNotFound && first_error.ok()) {
      first_error = status;
    }
  };
  for (const auto& [path, state] : files) {
    const uint64_t unsynced = state.size - std::min(state.size, state.synced);
    const uint64_t kept = seed == 0 || unsynced == 0 ? 0 : rng.Uniform(unsynced + 1);
    const uint64_t fill =
        seed == 0 || tail == TornTail::kCut ? 0 : rng.Uniform(unsynced - kept + 1);
    bool durable = state.durable_name;
    if (!durable && undo && !state.renamed_from.empty()) {
      if (undone(state.rename_order)) {
        note(UndoRename(path, state));
        continue;
      }
      durable = true;  // the rename reached the disk
    }
    note(!durable ? base_->RemoveFile(path)
         : fill > 0
             ? FillTornTail(path, state.synced + kept, fill, tail == TornTail::kZeros, rng.Next())
         : unsynced > kept ? base_->Truncate(path, state.synced + kept)
                           : Status::Ok());
  }
  for (const auto& [path, gone] : removed) {
    if (undone(gone.order) && !base_->FileExists(path)) {
      note(WriteWhole(path, gone.content));
    }
  }
  return first_error;
}

}  // namespace flywheel::io
