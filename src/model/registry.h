// Creates models by name with string parameters, for the CLI, the evaluation harness (which
// re-creates a model from scratch for retrain:<period>) and, later, the engine's configuration.
//   names: pop, recentpop, itemknn, bpr, twotower, sasrec (parameters: model/bpr.h,
//          model/twotower.h, model/sasrec.h,
//          doc/params.md, doc/models/twotower.md)
//   params: recentpop.half_life_hours; itemknn.window, itemknn.history, itemknn.decay
// Unknown names or parameters are kInvalidArgument naming them and listing the allowed ones.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flywheel/result.h"

#include "model/recommender.h"

namespace flywheel::model {

// Parameters for one model: key -> value text ("window" -> "50").
using ModelParams = std::map<std::string, std::string>;

Result<std::unique_ptr<Recommender>> CreateRecommender(const std::string& name,
                                                       const ModelParams& params);

// The names CreateRecommender knows.
std::vector<std::string> KnownModels();

}  // namespace flywheel::model
