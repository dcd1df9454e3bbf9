// The in-process evaluation targets (eval/target.h): the model alone and the engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"

#include "data/dataset.h"
#include "eval/harness.h"
#include "eval/metrics.h"
#include "eval/options.h"
#include "eval/target.h"
#include "model/user_state.h"

namespace flywheel::eval {

// The model alone through model::Recommender (`flywheel eval --raw-model`): the target keeps
// the user states (history, seen items) and updates the model as `mode` says (online: Observe
// every event; frozen: never; retrain:<period>: a fresh model Fit on all events so far every
// period of stream time). Item content goes to the model (SetItemContent) when an item enters
// the catalogue. Rating events also measure the model's rating prediction (rmse, mae).
class RawModelTarget : public Target {
 public:
  // fit_cache: directory of saved Fit states ("" off); rating_type: the dataset's EventTypeId
  // of "rating" or -1.
  RawModelTarget(const data::Dataset& dataset, ModelEntry entry, UpdateMode mode,
                 std::string fit_cache, int rating_type);

  Status AddItems(size_t from, size_t to) override;
  Status WarmUp(size_t end) override;
  Status Begin(size_t event) override;
  Result<bool> Recommend(size_t event, int k, bool exclude_seen,
                         std::vector<model::ScoredItem>* top) override;
  Status Observe(size_t from, size_t to) override;
  const char* kind() const override { return "model"; }
  void AddResultFields(nlohmann::json* result) const override;
  double fit_seconds() const override { return fit_seconds_; }

 private:
  Status Refit(size_t end);

  const data::Dataset& dataset_;
  ModelEntry entry_;
  UpdateMode mode_;
  std::string fit_cache_dir_;
  int rating_type_;
  std::unique_ptr<model::Recommender> model_;
  model::UserStateStore users_;
  size_t items_ = 0;  // items [0, n) are in the catalogue
  int64_t next_retrain_ = 0;
  bool started_ = false;
  int retrains_ = 0;
  double fit_seconds_ = 0;
  nlohmann::json fit_cache_;  // the warm-up Fit's cache entry
  RatingErrorAccumulator rating_error_;
};

// A real flywheel::Engine (public API only) in a temporary data directory, configured with one
// model and `pipeline`: events go through Ingest + WaitForApplied, recommendations through
// Engine::Recommend (the serving pipeline), item content through PutItem. Requests carry no
// time (now_ms 0: the time of the last applied event), exactly as GET
// /v1/users/{id}/recommendations does. The warm-up ingests the warm-up events and pre-trains
// the model on them (Engine::Pretrain). Only online updates exist (the engine learns every
// event it ingests).
class EngineTarget : public Target {
 public:
  static Result<std::unique_ptr<EngineTarget>> Open(const data::Dataset& dataset,
                                                    const ModelSpec& model,
                                                    const PipelineOptions& pipeline);
  ~EngineTarget() override;
  EngineTarget(const EngineTarget&) = delete;
  EngineTarget& operator=(const EngineTarget&) = delete;

  Status AddItems(size_t from, size_t to) override;
  Status WarmUp(size_t end) override;
  Result<bool> Recommend(size_t event, int k, bool exclude_seen,
                         std::vector<model::ScoredItem>* top) override;
  Status Observe(size_t from, size_t to) override;
  const char* kind() const override { return "engine"; }
  void AddResultFields(nlohmann::json* result) const override;
  double fit_seconds() const override { return fit_seconds_; }

 private:
  EngineTarget(const data::Dataset& dataset, std::string dir, std::string model);
  Status Wait(uint64_t seq);

  const data::Dataset& dataset_;
  std::string dir_;
  std::string model_;
  std::unique_ptr<Engine> engine_;
  double fit_seconds_ = 0;
  nlohmann::json pretrain_;
};

}  // namespace flywheel::eval
