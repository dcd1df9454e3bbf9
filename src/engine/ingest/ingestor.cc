#include "engine/ingest/ingestor.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "data/event_json.h"

namespace flywheel::engine {

namespace {

// What the full-disk probe writes: room for a typical batch (wal/log_writer.h, ProbeSpace).
constexpr size_t kProbeBytes = 64 << 10;

}  // namespace

Ingestor::Ingestor(const EventTypeTable& types, size_t dedup_window, bool read_only,
                   int disk_full_retry_ms, std::function<void(Batch)> hand_off)
    : types_(types),
      read_only_(read_only),
      hand_off_(std::move(hand_off)),
      dedup_(dedup_window),
      health_(disk_full_retry_ms, [this] {
        return writer_ != nullptr ? writer_->ProbeSpace(kProbeBytes) : Status::Ok();
      }) {}

Status Ingestor::LoadDedup(base::ByteReader* in) {
  base::MutexLock lock(&mu_);
  return dedup_.Load(in);
}

void Ingestor::ClearDedup() {
  base::MutexLock lock(&mu_);
  dedup_.Clear();
}

void Ingestor::Remember(const std::string& id, uint64_t seq) {
  base::MutexLock lock(&mu_);
  dedup_.Add(id, seq);
}

void Ingestor::Attach(std::unique_ptr<wal::LogWriter> writer, uint64_t next_seq) {
  writer_ = std::move(writer);
  base::MutexLock lock(&mu_);
  next_seq_ = next_seq;
  last_seq_.store(next_seq - 1, std::memory_order_release);
}

std::vector<EventError> Ingestor::Validate(std::span<const Event> events) const {
  std::vector<EventError> errors;
  for (size_t i = 0; i < events.size(); ++i) {
    Status st = data::ValidateEvent(events[i], types_);
    if (!st.ok()) {
      EventError e;
      e.index = i;
      e.message = st.message();
      e.field = st.field();
      errors.push_back(std::move(e));
    }
  }
  if (errors.empty() && impressions_ != nullptr) {
    errors = impressions_->CheckEvents(events);  // the lists' items, once the events are valid
  }
  return errors;
}

Result<IngestResult> Ingestor::Ingest(std::span<const Event> events) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<EventError> errors = Validate(events);
  if (!errors.empty()) {
    return Status::InvalidArgument("event " + std::to_string(errors.front().index) + ": " +
                                   errors.front().message);
  }
  IngestResult result;
  {
    base::MutexLock lock(&mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
    // Deduplicate against the window and within the batch.
    std::vector<Event> logged;
    logged.reserve(events.size());
    std::unordered_set<std::string_view> in_batch;
    in_batch.reserve(events.size());
    std::vector<std::string> claimed;  // recommendation ids of the impressions logged with it
    for (const Event& event : events) {
      const std::string& id = event.id;
      if (!id.empty() && (dedup_.Contains(id) || !in_batch.insert(id).second)) {
        ++result.duplicates;
        continue;
      }
      if (std::optional<Event> shown =
              impressions_ != nullptr ? impressions_->ClaimFor(event) : std::nullopt) {
        claimed.push_back(shown->item);
        logged.push_back(std::move(*shown));
        ++result.impressions;
      }
      logged.push_back(event);
    }
    result.accepted = logged.size() - result.impressions;
    if (!logged.empty()) {
      Result<uint64_t> first = LogLocked(std::move(logged));
      if (!first.ok()) {
        for (const std::string& rid : claimed) {
          impressions_->Release(rid);  // nothing of the batch is in the log
        }
        return first.status();
      }
      result.first_seq = *first;
    }
    result.last_seq = next_seq_ - 1;
  }
  duplicates_.fetch_add(result.duplicates, std::memory_order_relaxed);
  latency_.Add(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return result;
}

Result<uint64_t> Ingestor::LogLocked(std::vector<Event> events) {
  Batch batch;
  const uint64_t first_seq = next_seq_;
  batch.first_seq = first_seq;
  batch.events = std::move(events);
  Status st = writer_->AppendBatch(next_seq_, batch.events);
  if (!st.ok()) {
    return st.code() == StatusCode::kInvalidArgument ? st : OnWriteError(st);
  }
  health_.OnWritten();
  for (size_t j = 0; j < batch.events.size(); ++j) {
    if (!batch.events[j].id.empty()) {
      dedup_.Add(batch.events[j].id, next_seq_ + j);
    }
  }
  next_seq_ += batch.events.size();
  last_seq_.store(next_seq_ - 1, std::memory_order_release);
  batch.acked = std::chrono::steady_clock::now();
  hand_off_(std::move(batch));  // under mu_: batches reach the learner in log order
  return first_seq;
}

Result<uint64_t> Ingestor::LogControl(Event record) {
  base::MutexLock lock(&mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  std::vector<Event> events;
  events.push_back(std::move(record));
  return LogLocked(std::move(events));
}

Result<uint64_t> Ingestor::LogControls(std::vector<Event> records) {
  if (records.empty()) {
    return Status::InvalidArgument("engine: no records to log");
  }
  base::MutexLock lock(&mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  return LogLocked(std::move(records));
}

Result<uint64_t> Ingestor::LogForget(Event record) {
  base::MutexLock lock(&mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  std::vector<Event> events;
  events.push_back(std::move(record));
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, LogLocked(std::move(events)));
  // Later records go to a new segment, so a purge can remove every segment that holds the
  // user's events.
  Status rolled = writer_->Roll();
  if (!rolled.ok()) {
    return OnWriteError(rolled);
  }
  return seq;
}

Status Ingestor::OnWriteError(const Status& error) {
  if (error.code() == StatusCode::kResourceExhausted && writer_->status().ok()) {
    return health_.OnDiskFull(error);  // nothing of the batch is in the log
  }
  failure_ = error;  // fatal: a failed write or fdatasync (see wal/log_writer.h)
  return error;
}

Status Ingestor::CheckWritable() const {
  base::MutexLock lock(&mu_);
  return CheckWritableLocked();
}

Status Ingestor::CheckWritableLocked() const {
  if (read_only_) {
    return Status::FailedPrecondition(
        "engine: opened read-only: writes are refused (open without read-only to write)");
  }
  if (closed_) {
    return Status::FailedPrecondition("engine: closed");
  }
  if (!failure_.ok()) {
    return Status(failure_.code(), "engine: failed earlier: " + failure_.message());
  }
  return health_.Admit();
}

void Ingestor::FillWriteState(EngineStats* stats) const {
  {
    base::MutexLock lock(&mu_);
    if (read_only_ || closed_ || !failure_.ok()) {
      stats->write_state = read_only_ ? "read_only" : closed_ ? "closed" : "failed";
      stats->write_error = failure_.ok() ? "" : failure_.message();
      return;
    }
  }
  const WriteHealth::Report report = health_.Check();
  if (report.disk_full) {
    stats->write_state = "disk_full";
    stats->write_error = report.message;
    stats->write_retry_after_s = report.retry_after_s;
  }
}

void Ingestor::SaveDedup(uint64_t seq, std::string* payload) const {
  base::ByteWriter w(payload);
  base::MutexLock lock(&mu_);
  dedup_.Save(seq, &w);
}

Status Ingestor::Sync() {
  return writer_->Sync();
}

Status Ingestor::RemoveSegmentsBefore(uint64_t seq) {
  return writer_->RemoveSegmentsBefore(seq);
}

Result<std::pair<uint64_t, bool>> Ingestor::MarkClosed() {
  base::MutexLock lock(&mu_);
  if (closed_) {
    return Status::FailedPrecondition("engine: closed");
  }
  closed_ = true;
  return std::make_pair(next_seq_ - 1, failure_.ok());
}

Status Ingestor::CloseWriter() {
  return writer_ != nullptr ? writer_->Close() : Status::Ok();
}

uint64_t Ingestor::durable_seq() const {
  const uint64_t last = last_seq();
  return writer_ != nullptr ? std::min(writer_->SyncedThrough(), last) : last;
}

}  // namespace flywheel::engine
