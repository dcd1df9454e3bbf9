#include "model/registry.h"

#include <set>

#include "base/strings.h"
#include "model/baselines.h"

namespace flywheel::model {
namespace {

Status CheckKeys(const std::string& model, const ModelParams& params,
                 const std::set<std::string>& allowed) {
  for (const auto& [key, value] : params) {
    if (allowed.count(key) == 0) {
      std::string list;
      for (const auto& name : allowed) {
        list += list.empty() ? "" : ", ";
        list += name;
      }
      return Status::InvalidArgument("model " + model + ": unknown parameter '" + key +
                                     "' (allowed: " + (list.empty() ? "none" : list) + ")");
    }
  }
  return Status::Ok();
}

Result<double> GetDouble(const std::string& model, const ModelParams& params,
                         const std::string& key, double fallback, double min, double max) {
  auto it = params.find(key);
  if (it == params.end()) {
    return fallback;
  }
  auto value = base::ParseDouble(it->second);
  if (!value.ok() || *value < min || *value > max) {
    return Status::InvalidArgument("model " + model + ": parameter " + key + "='" + it->second +
                                   "' must be a number in [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]");
  }
  return *value;
}

}  // namespace

std::vector<std::string> KnownModels() {
  return {"pop", "recentpop", "itemknn"};
}

Result<std::unique_ptr<Recommender>> CreateRecommender(const std::string& name,
                                                       const ModelParams& params) {
  if (name == "pop") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {}));
    return std::unique_ptr<Recommender>(std::make_unique<MostPop>());
  }
  if (name == "recentpop") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {"half_life_hours"}));
    RecentPopOptions options;
    FLYWHEEL_ASSIGN_OR_RETURN(options.half_life_hours,
                              GetDouble(name, params, "half_life_hours", 24.0, 1e-3, 1e7));
    return std::unique_ptr<Recommender>(std::make_unique<RecentPop>(options));
  }
  if (name == "itemknn") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {"window", "history", "decay"}));
    ItemKnnOptions options;
    FLYWHEEL_ASSIGN_OR_RETURN(double window, GetDouble(name, params, "window", 50, 1, 10000));
    FLYWHEEL_ASSIGN_OR_RETURN(double history, GetDouble(name, params, "history", 20, 1, 10000));
    FLYWHEEL_ASSIGN_OR_RETURN(options.decay, GetDouble(name, params, "decay", 0.9, 0, 1));
    options.window = static_cast<int>(window);
    options.history = static_cast<int>(history);
    return std::unique_ptr<Recommender>(std::make_unique<ItemKnn>(options));
  }
  std::string known;
  for (const auto& model : KnownModels()) {
    known += (known.empty() ? "" : ", ") + model;
  }
  return Status::InvalidArgument("unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace flywheel::model
