#include "eval/targets.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <utility>

#include "eval/fit_cache.h"
#include "eval/protocols.h"

namespace flywheel::eval {
namespace {

using nlohmann::json;

// How long Observe waits for the learner (a warm-up of millions of events included).
constexpr int kApplyTimeoutMs = 3600 * 1000;

}  // namespace

// ---- RawModelTarget ----

RawModelTarget::RawModelTarget(const data::Dataset& dataset, ModelEntry entry, UpdateMode mode,
                               std::string fit_cache, int rating_type)
    : dataset_(dataset),
      entry_(std::move(entry)),
      mode_(mode),
      fit_cache_dir_(std::move(fit_cache)),
      rating_type_(rating_type) {}

Status RawModelTarget::AddItems(size_t from, size_t to) {
  if (model_ != nullptr) {
    internal::DeliverItemContent(dataset_, from, to, model_.get());
  }
  items_ = std::max(items_, to);
  return Status::Ok();
}

Status RawModelTarget::Refit(size_t end) {
  FLYWHEEL_ASSIGN_OR_RETURN(model_, entry_.factory());
  internal::DeliverItemContent(dataset_, 0, items_, model_.get());
  const int64_t start = internal::NowNs();
  FLYWHEEL_RETURN_IF_ERROR(
      internal::FitWithCache(fit_cache_dir_, dataset_, std::span(dataset_.events.data(), end),
                             model_.get(), retrains_ == 0 ? &fit_cache_ : nullptr));
  fit_seconds_ += internal::SecondsSince(start);
  return Status::Ok();
}

Status RawModelTarget::WarmUp(size_t end) {
  FLYWHEEL_RETURN_IF_ERROR(Refit(end));
  for (size_t i = 0; i < end; ++i) {
    users_.Get(dataset_.events[i].user).Add(dataset_.events[i]);
  }
  next_retrain_ = end < dataset_.events.size() ? dataset_.events[end].ts_ms + mode_.period_ms : 0;
  return Status::Ok();
}

Status RawModelTarget::Begin(size_t event) {
  const TimestampMs ts = dataset_.events[event].ts_ms;
  if (mode_.kind == UpdateMode::Kind::kRetrain && ts >= next_retrain_) {
    FLYWHEEL_RETURN_IF_ERROR(Refit(event));
    ++retrains_;
    while (next_retrain_ <= ts) {
      next_retrain_ += mode_.period_ms;
    }
  }
  return Status::Ok();
}

Result<bool> RawModelTarget::Recommend(size_t event, int k, bool exclude_seen,
                                       std::vector<model::ScoredItem>* top) {
  const data::Interaction& e = dataset_.events[event];
  const model::UserState& user = users_.Find(e.user);
  model::RecommendRequest request;
  request.user = e.user;
  request.k = k;
  request.now_ms = e.ts_ms;
  request.user_state = &user;
  if (exclude_seen) {
    request.exclude = user.seen_items();
  }
  model_->Recommend(request, top);
  return true;
}

Status RawModelTarget::Observe(size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    const data::Interaction& e = dataset_.events[i];
    if (e.type == rating_type_) {
      if (const std::optional<float> predicted = model_->PredictRating(e.user, e.item)) {
        rating_error_.Add(*predicted, e.value);
      }
    }
    model::UserState& user = users_.Get(e.user);
    if (mode_.kind == UpdateMode::Kind::kOnline) {
      model_->Observe(e, user);
    }
    user.Add(e);
  }
  return Status::Ok();
}

void RawModelTarget::AddResultFields(json* result) const {
  internal::RatingErrorJson(rating_error_, result);
  for (const auto& [key, value] : model_->diagnostics()) {
    (*result)["diagnostics"][key] = value;
  }
  if (!fit_cache_.is_null()) {
    (*result)["fit_cache"] = fit_cache_;
  }
  if (mode_.kind == UpdateMode::Kind::kRetrain) {
    (*result)["retrains"] = retrains_;
  }
}

// ---- EngineTarget ----

EngineTarget::EngineTarget(const data::Dataset& dataset, std::string dir, std::string model)
    : dataset_(dataset), dir_(std::move(dir)), model_(std::move(model)) {}

Result<std::unique_ptr<EngineTarget>> EngineTarget::Open(const data::Dataset& dataset,
                                                         const ModelSpec& model,
                                                         const PipelineOptions& pipeline) {
  std::string pattern = (std::filesystem::temp_directory_path() / "flywheel-eval-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::IoError("eval: cannot create a temporary data directory in " +
                           std::filesystem::temp_directory_path().string());
  }
  std::unique_ptr<EngineTarget> target(new EngineTarget(dataset, pattern, model.name));
  EngineOptions options;
  options.data_dir = pattern;
  // Nothing here must survive a crash: no fdatasync per batch, no snapshot at Close.
  options.durability = "interval:60000";
  options.snapshot_on_close = false;
  options.snapshot_every = 0;
  options.snapshot_interval_ms = 0;
  options.models = {::flywheel::ModelSpec{model.name, model.params}};
  options.pipeline = pipeline;
  options.rating_threshold = dataset.types.rating_threshold();
  FLYWHEEL_ASSIGN_OR_RETURN(target->engine_, Engine::Open(options));
  return target;
}

EngineTarget::~EngineTarget() {
  if (engine_ != nullptr) {
    (void)engine_->Close();
    engine_.reset();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Status EngineTarget::Wait(uint64_t seq) {
  return seq == 0 ? Status::Ok() : engine_->WaitForApplied(seq, kApplyTimeoutMs);
}

Status EngineTarget::AddItems(size_t from, size_t to) {
  to = std::min(to, dataset_.item_meta.size());
  uint64_t last = 0;
  for (size_t i = from; i < to; ++i) {
    if (!dataset_.item_meta[i].id.empty()) {
      FLYWHEEL_ASSIGN_OR_RETURN(last, engine_->PutItem(dataset_.item_meta[i]));
    }
  }
  return Wait(last);
}

Status EngineTarget::WarmUp(size_t end) {
  if (end == 0) {
    return Status::Ok();
  }
  FLYWHEEL_RETURN_IF_ERROR(Observe(0, end));
  const int64_t start = internal::NowNs();
  FLYWHEEL_ASSIGN_OR_RETURN(PretrainResult pretrained, engine_->Pretrain(model_));
  fit_seconds_ += internal::SecondsSince(start);
  pretrain_ = {{"events", pretrained.events}, {"skipped", pretrained.skipped}};
  return Status::Ok();
}

Result<bool> EngineTarget::Recommend(size_t event, int k, bool exclude_seen,
                                     std::vector<model::ScoredItem>* top) {
  RecommendQuery query;
  query.user = dataset_.users.external(dataset_.events[event].user);
  query.k = k;
  query.exclude_seen = exclude_seen;
  FLYWHEEL_ASSIGN_OR_RETURN(RecommendResult result, engine_->Recommend(query));
  top->clear();
  for (const Recommendation& r : result.items) {
    if (const std::optional<uint32_t> item = dataset_.items.Find(r.item)) {
      top->push_back(model::ScoredItem{*item, r.score});
    }
  }
  return true;
}

Status EngineTarget::Observe(size_t from, size_t to) {
  std::vector<Event> events;
  events.reserve(to - from);
  for (size_t i = from; i < to; ++i) {
    const data::Interaction& e = dataset_.events[i];
    Event event;
    event.user = dataset_.users.external(e.user);
    event.item = dataset_.items.external(e.item);
    event.type = dataset_.types.type(e.type).name;
    event.value = e.value;
    event.ts_ms = e.ts_ms;
    events.push_back(std::move(event));
  }
  if (events.empty()) {
    return Status::Ok();
  }
  FLYWHEEL_ASSIGN_OR_RETURN(IngestResult ingested, engine_->Ingest(events));
  return Wait(ingested.last_seq);
}

void EngineTarget::AddResultFields(json* result) const {
  if (!pretrain_.is_null()) {
    (*result)["pretrain"] = pretrain_;
  }
}

}  // namespace flywheel::eval
