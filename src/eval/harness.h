// The evaluation harness: runs protocols P (prequential), L (leave-last-out) and T (temporal
// split) of ../shared/guides/evaluation.md over a loaded dataset, for several models on the same
// events in the same invocation, and returns the JSON document of that guide.
//
// Protocol P drives a Target (eval/target.h) through the replay protocol shared with `flywheel
// replay` (eval/replay.h): with EvalOptions::target kEngine a real flywheel::Engine and its
// serving pipeline (what users get), with kRawModel the model alone through model::Recommender
// (Fit / Observe / Recommend), the target owning the user states (history, seen items), so
// "frozen" freezes the model's parameters while the user's latest history is still its input.
// Protocols L and T drive the model alone.
// Deterministic: single-threaded; the same dataset and options give the same metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
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
  ModelEntry() = default;
  ModelEntry(std::string entry_name, ModelFactory make, ModelSpec registry_spec = {})
      : name(std::move(entry_name)), factory(std::move(make)), spec(std::move(registry_spec)) {}

  std::string name;
  ModelFactory factory;
  // The registry name and parameters (empty name: the factory is not a registry model); the
  // engine target configures its engine with them.
  ModelSpec spec;
};

// Builds entries from names/params through model::CreateRecommender (validating them first).
Result<std::vector<ModelEntry>> MakeModelEntries(const std::vector<ModelSpec>& specs);

Result<nlohmann::json> RunEvaluation(const data::Dataset& dataset,
                                     const std::vector<ModelEntry>& models,
                                     const EvalOptions& options);

}  // namespace flywheel::eval
