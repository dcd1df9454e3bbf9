// Internal: one function per protocol, called by RunEvaluation. Each returns the "results"
// entries for one model (one per update mode) and fills shared document fields.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "eval/harness.h"
#include "eval/metrics.h"
#include "eval/options.h"

namespace flywheel::eval::internal {

struct ProtocolContext {
  const data::Dataset* dataset = nullptr;
  const EvalOptions* options = nullptr;
  const PositiveFilter* positive = nullptr;
  int rating_type = -1;  // EventTypeId of "rating", or -1 when the table has none
};

// Adds the model's rating prediction for `event` (before it learns from it) when the event is a
// rating and the model predicts ratings.
void AddRatingError(const ProtocolContext& ctx, const model::Recommender& model,
                    const data::Interaction& event, RatingErrorAccumulator* acc);
// Adds "rmse", "mae" to `metrics` and "rated" to `result` when anything was predicted.
void RatingErrorJson(const RatingErrorAccumulator& acc, nlohmann::json* result);

// Protocol L's split (doc/evaluation.md): per user, the distinct positive items in order of
// first interaction; the last is the test item, the second-to-last the validation item, users
// with fewer than 3 contribute training events only. Training events: every event of a user
// strictly before the first interaction with their validation item, in time order.
struct LeaveLastOutSplit {
  std::vector<data::Interaction> train;  // time-ordered
  std::vector<size_t> valid_event;       // per user: index into events, or SIZE_MAX
  std::vector<size_t> test_event;        // per user: index into events, or SIZE_MAX
};
LeaveLastOutSplit MakeLeaveLastOutSplit(const std::vector<data::Interaction>& events,
                                        size_t num_users);

// Each appends to doc["results"] and may set protocol-level fields (events_scored, split...).
Status RunPrequential(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);
Status RunLeaveLastOut(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);
Status RunTemporal(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);

// Gives the model the content of items [from, to) that have metadata (SetItemContent).
void DeliverItemContent(const data::Dataset& dataset, size_t from, size_t to,
                        model::Recommender* model);

// Seconds since `start` on the steady clock.
double SecondsSince(int64_t start_ns);
int64_t NowNs();
nlohmann::json ParamsJson(const model::Recommender& model);

}  // namespace flywheel::eval::internal
