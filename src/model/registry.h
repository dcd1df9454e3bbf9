// Creates models by name with string parameters, for the CLI, the evaluation harness (which
// re-creates a model from scratch for retrain:<period>) and the engine's configuration.
//   names: pop, recentpop, itemknn, bpr, twotower, sasrec, default (model/blend.h)
//   params: each model's ParamTable (model/param_table.h), declared next to the model
//           (RecentPopParamTable, ItemKnnParamTable, BprParamTable, TwoTowerParamTable,
//           SasrecParamTable); `flywheel models` prints them, doc/params.md carries them.
// Unknown names or parameters are kInvalidArgument naming them and listing the allowed ones;
// values out of range are kInvalidArgument naming the parameter and its range.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/model_spec.h"
#include "flywheel/result.h"

#include "model/param_table.h"
#include "model/recommender.h"

namespace flywheel::model {

// Parameters for one model: key -> value text ("window" -> "50").
using ModelParams = std::map<std::string, std::string>;

Result<std::unique_ptr<Recommender>> CreateRecommender(const std::string& name,
                                                       const ModelParams& params);

// The names CreateRecommender knows.
std::vector<std::string> KnownModels();

// A model's parameter descriptions (empty for pop); kInvalidArgument for an unknown name.
Result<std::vector<ParamInfo>> ModelParamInfos(const std::string& name);

// Help text of one model's parameters: a line per parameter with its type, default, range and
// documentation (what `flywheel models NAME` prints).
Result<std::string> ModelParamsHelp(const std::string& name);

// The markdown table of one model's parameters (the generated blocks of doc/params.md).
Result<std::string> ModelParamsMarkdown(const std::string& name);

// `doc` with every generated block
//   <!-- BEGIN GENERATED: flywheel models --markdown NAME -->
//   ...
//   <!-- END GENERATED -->
// replaced by ModelParamsMarkdown(NAME). kInvalidArgument for an unknown name, an unterminated
// block, or a known model without a block (every model's parameters must be documented).
Result<std::string> RegenerateParamsDoc(std::string_view doc);

// The model list of the CLI: `models` is "a,b,c" (names trimmed; an empty name is an error; an
// empty string gives no specs), `params` are "MODEL.KEY=VALUE" (MODEL must be in the list).
// Names and keys are not checked against the registry here (CreateRecommender does it).
Result<std::vector<ModelSpec>> ParseModelSpecs(std::string_view models,
                                               const std::vector<std::string>& params);

}  // namespace flywheel::model
