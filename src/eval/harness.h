// The evaluation harness: runs protocols P (prequential), L (leave-last-out) and T (temporal
// split) of ../shared/guides/evaluation.md over a loaded dataset, for several models on the same
// events in the same invocation, and returns the JSON document of that guide.
//
// One code path: models are driven only through model::Recommender (Fit / Observe / Recommend),
// the interface the engine serves with. The harness owns the user states (history, seen items),
// so "frozen" freezes the model's parameters while the user's latest history is still its input.
// Deterministic: single-threaded; the same dataset and options give the same metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/result.h"

#include "data/dataset.h"
#include "eval/options.h"
#include "model/recommender.h"

namespace flywheel::eval {

// Creates a fresh, untrained model (called again for every retrain).
using ModelFactory = std::function<Result<std::unique_ptr<model::Recommender>>()>;

struct ModelEntry {
  std::string name;
  ModelFactory factory;
};

// Builds entries from names/params through model::CreateRecommender (validating them first).
Result<std::vector<ModelEntry>> MakeModelEntries(const std::vector<ModelSpec>& specs);

Result<nlohmann::json> RunEvaluation(const data::Dataset& dataset,
                                     const std::vector<ModelEntry>& models,
                                     const EvalOptions& options);

}  // namespace flywheel::eval
