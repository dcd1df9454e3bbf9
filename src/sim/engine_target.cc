#include "sim/engine_target.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <utility>

namespace flywheel::sim {
namespace {

constexpr int kApplyTimeoutMs = 120'000;

}  // namespace

Result<std::unique_ptr<EngineTarget>> EngineTarget::Open(EngineOptions options) {
  std::unique_ptr<EngineTarget> target(new EngineTarget());
  if (options.data_dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "flywheel-sim-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IoError("simulate: cannot create a temporary data directory in " +
                             std::filesystem::temp_directory_path().string());
    }
    options.data_dir = pattern;
    target->temporary_ = true;
    options.snapshot_on_close = false;
  }
  target->dir_ = options.data_dir;
  for (const ModelSpec& spec : options.models) {
    target->models_ += (target->models_.empty() ? "" : ",") + spec.name;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(target->engine_, Engine::Open(options));
  return target;
}

EngineTarget::~EngineTarget() {
  if (engine_ != nullptr) {
    (void)engine_->Close();
    engine_.reset();
  }
  if (temporary_) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status EngineTarget::Close() {
  if (engine_ == nullptr) {
    return Status::FailedPrecondition("simulate: the engine is closed");
  }
  Status status = engine_->Close();
  engine_.reset();
  return status;
}

std::string EngineTarget::Describe() const {
  return "in-process " + (models_.empty() ? std::string("(stored models)") : models_) + " in " +
         dir_;
}

Status EngineTarget::PutItems(std::span<const Item> items) {
  constexpr size_t kBatch = 1000;
  for (size_t from = 0; from < items.size(); from += kBatch) {
    const size_t n = std::min(kBatch, items.size() - from);
    FLYWHEEL_ASSIGN_OR_RETURN(uint64_t first, engine_->PutItems(items.subspan(from, n)));
    ++counters_.item_batches;
    FLYWHEEL_RETURN_IF_ERROR(engine_->WaitForApplied(first + n - 1, kApplyTimeoutMs));
  }
  return Status::Ok();
}

Result<ServedList> EngineTarget::Recommend(const RequestSpec& request) {
  RecommendQuery query;
  query.user = request.user;
  query.k = request.k;
  query.now_ms = request.now_ms;
  query.policy = request.policy;
  query.model = request.model;
  query.record_impression = request.record_impression;
  ++counters_.recommend_calls;
  const auto start = std::chrono::steady_clock::now();
  Result<RecommendResult> answer = engine_->Recommend(query);
  const double call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  FLYWHEEL_ASSIGN_OR_RETURN(RecommendResult result, std::move(answer));
  ServedList list;
  list.call_ms = call_ms;
  list.recommendation_id = result.recommendation_id;
  list.policy = result.policy;
  list.impression_recorded = result.impression_seq != 0;
  list.items.reserve(result.items.size());
  for (const Recommendation& rec : result.items) {
    list.items.push_back({rec.item, rec.propensity});
  }
  if (list.impression_recorded) {
    ++counters_.impression_calls;
    FLYWHEEL_RETURN_IF_ERROR(engine_->WaitForApplied(result.impression_seq, kApplyTimeoutMs));
  } else if (request.record_impression) {
    ++counters_.impressions_unsupported;
  }
  return list;
}

Status EngineTarget::RecordImpression(const std::string& /*user*/, const ServedList& /*list*/,
                                      TimestampMs /*ts_ms*/) {
  // Recorded with the request (record_impression) when the engine supports impressions.
  return Status::Ok();
}

Status EngineTarget::SendEvents(std::span<const Event> events) {
  if (events.empty()) {
    return Status::Ok();
  }
  FLYWHEEL_ASSIGN_OR_RETURN(IngestResult result, engine_->Ingest(events));
  ++counters_.event_batches;
  counters_.events_sent += static_cast<int64_t>(events.size());
  return engine_->WaitForApplied(result.last_seq, kApplyTimeoutMs);
}

TargetCounters EngineTarget::counters() const {
  TargetCounters out = counters_;
  if (engine_ != nullptr) {
    if (auto storage = engine_->Storage(); storage.ok()) {
      out.log_bytes = static_cast<int64_t>(storage->log_bytes);
    }
  }
  return out;
}

}  // namespace flywheel::sim
