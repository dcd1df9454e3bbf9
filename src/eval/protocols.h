// Internal: one function per protocol, called by RunEvaluation. Each returns the "results"
// entries for one model (one per update mode) and fills shared document fields.
#pragma once

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "eval/harness.h"
#include "eval/options.h"

namespace flywheel::eval::internal {

struct ProtocolContext {
  const data::Dataset* dataset = nullptr;
  const EvalOptions* options = nullptr;
  const PositiveFilter* positive = nullptr;
};

// Each appends to doc["results"] and may set protocol-level fields (events_scored, split...).
Status RunPrequential(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);
Status RunLeaveLastOut(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);
Status RunTemporal(const ProtocolContext& ctx, const ModelEntry& model, nlohmann::json* doc);

// Seconds since `start` on the steady clock.
double SecondsSince(int64_t start_ns);
int64_t NowNs();
nlohmann::json ParamsJson(const model::Recommender& model);

}  // namespace flywheel::eval::internal
