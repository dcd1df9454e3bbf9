#include "wal/log_writer.h"

#include <algorithm>
#include <chrono>

#include "base/crc32c.h"
#include "base/strings.h"
#include "wal/coding.h"
#include "wal/durable_mark.h"
#include "wal/event_codec.h"
#include "wal/log_format.h"

namespace flywheel::wal {
namespace {

// first_seq from a segment's header; UINT64_MAX when unreadable (never enables retention).
uint64_t ReadFirstSeq(io::Env* env, const std::string& path) {
  Result<std::unique_ptr<io::SequentialFile>> file = env->OpenSequential(path);
  if (!file.ok()) {
    return UINT64_MAX;
  }
  char header[kSegmentHeaderSize];
  Result<size_t> got = (*file)->Read(sizeof(header), header);
  if (!got.ok() || *got != sizeof(header) || std::string_view(header, 4) != kSegmentMagic ||
      base::crc32c::Unmask(DecodeFixed32(header + 16)) != base::crc32c::Value(header, 16)) {
    return UINT64_MAX;
  }
  return DecodeFixed64(header + 8);
}

}  // namespace

Result<Durability> Durability::Parse(std::string_view text) {
  if (text == "sync") {
    return Durability{};
  }
  constexpr std::string_view kPrefix = "interval:";
  if (text.starts_with(kPrefix)) {
    Result<int64_t> ms = base::ParseInt64(text.substr(kPrefix.size()));
    if (ms.ok() && *ms >= 1 && *ms <= 60000) {
      return Durability{Mode::kInterval, static_cast<int>(*ms)};
    }
  }
  return Status::InvalidArgument("wal: bad durability '" + std::string(text) +
                                 "' (expected sync or interval:<ms> with 1 <= ms <= 60000)");
}

std::string Durability::ToString() const {
  return mode == Mode::kSync ? "sync" : "interval:" + std::to_string(interval_ms);
}

LogWriter::LogWriter(io::Env* env, std::string dir, const WriterOptions& options, uint64_t next_seq)
    : env_(env),
      dir_(std::move(dir)),
      options_(options),
      next_seq_(next_seq),
      synced_through_(next_seq - 1) {}

Result<std::unique_ptr<LogWriter>> LogWriter::Open(io::Env* env, const std::string& dir,
                                                   const WriterOptions& options,
                                                   uint64_t next_seq) {
  if (next_seq == 0) {
    return Status::InvalidArgument("wal: next_seq must be >= 1");
  }
  if (options.durability.mode == Durability::Mode::kInterval &&
      options.durability.interval_ms <= 0) {
    return Status::InvalidArgument("wal: interval durability needs interval_ms > 0");
  }
  FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(dir));
  std::unique_ptr<LogWriter> writer(new LogWriter(env, dir, options, next_seq));
  {
    std::lock_guard lock(writer->mu_);
    FLYWHEEL_RETURN_IF_ERROR(writer->LoadExistingSegments());
    FLYWHEEL_RETURN_IF_ERROR(writer->StartSegment());
  }
  if (options.durability.mode == Durability::Mode::kInterval) {
    writer->sync_thread_ = std::thread([w = writer.get()] { w->SyncLoop(); });
  }
  return writer;
}

LogWriter::~LogWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (sync_thread_.joinable()) {
    sync_thread_.join();
  }
}

Status LogWriter::LoadExistingSegments() {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  for (const std::string& name : names) {  // sorted by name = by number (fixed width)
    uint64_t number = 0;
    if (ParseSegmentFileName(name, &number)) {
      segments_.push_back({number, ReadFirstSeq(env_, io::JoinPath(dir_, name))});
      next_segment_number_ = std::max(next_segment_number_, number + 1);
    }
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  return Status::Ok();
}

// Makes the old segment durable, then creates the next one: header, fdatasync, directory fsync.
// A full disk while creating it is not fatal: the new file is removed, the old segment stays
// active and the number is reused by the next try (kResourceExhausted is returned).
Status LogWriter::StartSegment() {
  if (file_ != nullptr) {
    FLYWHEEL_RETURN_IF_ERROR(SyncLocked());
  }
  const uint64_t number = next_segment_number_;
  const std::string path = io::JoinPath(dir_, SegmentFileName(number));
  Status created = CreateSegment(path);
  if (created.code() == StatusCode::kResourceExhausted) {
    const Status removed = env_->RemoveFile(path);
    if (removed.ok() || removed.code() == StatusCode::kNotFound) {
      return created;  // retryable: nothing of the failed segment is left
    }
    return Fail(created.WithPrefix("wal: cannot remove the partly created " + path + " (" +
                                   removed.message() + ")"));
  }
  return Fail(created);
}

Status LogWriter::CreateSegment(const std::string& path) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file, env_->OpenWritable(path));
  FLYWHEEL_RETURN_IF_ERROR(file->Append(EncodeSegmentHeader(next_seq_)));
  FLYWHEEL_RETURN_IF_ERROR(file->Sync());
  FLYWHEEL_RETURN_IF_ERROR(env_->SyncDir(dir_));
  file_ = std::move(file);  // the old one is closed by its last owner (an in-flight sync)
  active_path_ = path;
  ++next_segment_number_;
  segments_.push_back({next_segment_number_ - 1, next_seq_});
  active_bytes_ = kSegmentHeaderSize;
  return Status::Ok();
}

Status LogWriter::Fail(Status status) {
  if (failure_.ok()) {
    failure_ = status;
  }
  return status;
}

Status LogWriter::CheckUsable() const {
  if (!failure_.ok()) {
    return failure_.WithPrefix("wal: writer failed earlier");
  }
  if (closed_) {
    return Status::FailedPrecondition("wal: writer is closed");
  }
  return Status::Ok();
}

Status LogWriter::AppendBatch(uint64_t first_seq, std::span<const Event> events) {
  std::lock_guard lock(mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckUsable());
  if (first_seq != next_seq_) {
    return Status::InvalidArgument("wal: batch starts at seq " + std::to_string(first_seq) +
                                   ", expected " + std::to_string(next_seq_));
  }
  if (events.empty()) {
    return Status::Ok();
  }
  buffer_.clear();
  for (size_t i = 0; i < events.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(AppendEventRecord(first_seq + i, events[i], &buffer_));
  }
  if (active_bytes_ >= options_.segment_bytes) {
    FLYWHEEL_RETURN_IF_ERROR(StartSegment());
  }
  const uint64_t batch_start = active_bytes_;
  if (Status written = file_->Append(buffer_); !written.ok()) {
    return UndoBatch(batch_start, written);
  }
  active_bytes_ += buffer_.size();
  next_seq_ = first_seq + events.size();
  if (options_.durability.mode == Durability::Mode::kSync) {
    if (Status synced = SyncLocked(); !synced.ok()) {
      // Fatal either way; cutting the batch keeps a 503 batch from reappearing after a restart.
      next_seq_ = first_seq;
      active_bytes_ = batch_start;
      (void)env_->Truncate(active_path_, batch_start);
      return synced;
    }
  }
  return Status::Ok();
}

// A failed write may have left part of the batch in the segment: cut it back to the batch's
// start (ftruncate + fdatasync; the file is open with O_APPEND, so later writes continue at the
// cut), so that no reader ever sees part of a batch. A full disk then leaves the writer usable;
// any other write error, or a failed cut, is fatal.
Status LogWriter::UndoBatch(uint64_t batch_start, const Status& error) {
  const Status cut = env_->Truncate(active_path_, batch_start);
  if (!cut.ok()) {
    return Fail(error.WithPrefix("wal: the batch's partial write could not be cut back (" +
                                 cut.message() + ")"));
  }
  if (error.code() == StatusCode::kResourceExhausted) {
    return error;
  }
  return Fail(error);
}

Status LogWriter::SyncLocked() {
  const uint64_t written_through = next_seq_ - 1;
  if (SyncedThrough() >= written_through) {
    return Status::Ok();
  }
  FLYWHEEL_RETURN_IF_ERROR(Fail(file_->Sync()));
  synced_through_.store(written_through, std::memory_order_release);
  return Status::Ok();
}

Status LogWriter::Sync() {
  std::lock_guard lock(mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckUsable());
  return SyncLocked();
}

void LogWriter::SyncLoop() {
  const auto period = std::chrono::milliseconds(options_.durability.interval_ms);
  std::unique_lock lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, period, [this] { return stop_; });
    const uint64_t target = next_seq_ - 1;
    if (stop_ || !failure_.ok() || closed_ || SyncedThrough() >= target) {
      continue;
    }
    std::shared_ptr<io::WritableFile> file = file_;
    lock.unlock();  // appends go on while the kernel syncs
    Status status = file->Sync();
    lock.lock();
    if (!status.ok()) {
      (void)Fail(status);
    } else if (target > SyncedThrough()) {
      synced_through_.store(target, std::memory_order_release);
    }
  }
}

Status LogWriter::Close() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (sync_thread_.joinable()) {
    sync_thread_.join();
  }
  std::lock_guard lock(mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckUsable());
  FLYWHEEL_RETURN_IF_ERROR(SyncLocked());
  closed_ = true;
  std::shared_ptr<io::WritableFile> file = std::move(file_);
  FLYWHEEL_RETURN_IF_ERROR(file.use_count() == 1 ? file->Close() : Status::Ok());
  // Everything is durable now: record where the log ends (durable_mark.h). Best effort: the
  // events are durable either way, and an older mark left in place (e.g. on a full disk) is
  // still a correct lower bound.
  const DurableMark mark{next_seq_ - 1, segments_.empty() ? 0 : segments_.back().number,
                         active_bytes_};
  (void)WriteDurableMark(env_, dir_, mark);
  return Status::Ok();
}

Status LogWriter::Roll() {
  std::lock_guard lock(mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckUsable());
  if (active_bytes_ <= kSegmentHeaderSize) {
    return Status::Ok();
  }
  return StartSegment();
}

Status LogWriter::RemoveSegmentsBefore(uint64_t seq) {
  std::lock_guard lock(mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckUsable());
  size_t removed = 0;
  while (removed + 1 < segments_.size() && segments_[removed + 1].first_seq <= seq) {
    const std::string path = io::JoinPath(dir_, SegmentFileName(segments_[removed].number));
    Status status = env_->RemoveFile(path);
    if (!status.ok() && status.code() != StatusCode::kNotFound) {
      segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
      return status;
    }
    ++removed;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  return removed == 0 ? Status::Ok() : Fail(env_->SyncDir(dir_));
}

uint64_t LogWriter::next_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

Status LogWriter::status() const {
  std::lock_guard lock(mu_);
  return failure_;
}

Status LogWriter::ProbeSpace(size_t bytes) const {
  const std::string path = io::JoinPath(dir_, kSpaceProbeFileName);
  Status status = [&]() -> Status {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file, env_->OpenWritable(path));
    FLYWHEEL_RETURN_IF_ERROR(file->Append(std::string(bytes, '\0')));
    FLYWHEEL_RETURN_IF_ERROR(file->Sync());
    return file->Close();
  }();
  const Status removed = env_->RemoveFile(path);
  if (status.ok() && !removed.ok() && removed.code() != StatusCode::kNotFound) {
    status = removed;
  }
  return status;
}

size_t LogWriter::segment_count() const {
  std::lock_guard lock(mu_);
  return segments_.size();
}

}  // namespace flywheel::wal
