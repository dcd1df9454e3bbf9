#include "engine/loop/loop_options.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "base/strings.h"
#include "engine/loop/impression_learner.h"
#include "engine/serve/policy.h"

namespace flywheel::engine {
namespace {

Status Bad(const std::string& key, const std::string& what) {
  return Status::InvalidArgument("engine: loop." + key + ": " + what).WithField("loop." + key);
}

// "type=weight[,type=weight...]": names non-empty and distinct, weights finite.
Status CheckRewardWeights(const std::string& spec) {
  if (spec.empty()) {
    return Status::Ok();
  }
  std::unordered_set<std::string> names;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string entry = spec.substr(start, comma - start);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Bad("reward_weights", "expected type=weight, got '" + entry + "'");
    }
    const std::string name = entry.substr(0, eq);
    const Result<double> weight = base::ParseDouble(entry.substr(eq + 1));
    if (!weight.ok() || !std::isfinite(*weight)) {
      return Bad("reward_weights", "weight of '" + name + "' is not a finite number");
    }
    if (!names.insert(name).second) {
      return Bad("reward_weights", "type '" + name + "' appears twice");
    }
    start = comma + 1;
  }
  return Status::Ok();
}

}  // namespace

Status ValidateLoopOptions(const LoopOptions& o) {
  constexpr int64_t kMaxWindowMs = 30LL * 24 * 3600 * 1000;
  if (o.attribution_window_ms < 1 || o.attribution_window_ms > kMaxWindowMs) {
    return Bad("attribution_window_ms", "must be in 1..2592000000 (1 ms to 30 days), got " +
                                            std::to_string(o.attribution_window_ms));
  }
  if (!std::isfinite(o.default_reward)) {
    return Bad("default_reward", "must be a finite number");
  }
  FLYWHEEL_RETURN_IF_ERROR(CheckRewardWeights(o.reward_weights));
  if (o.served_cache > 10'000'000) {
    return Bad("served_cache", "must be at most 10000000, got " + std::to_string(o.served_cache));
  }
  FLYWHEEL_RETURN_IF_ERROR(ValidateLoopPolicy(o));  // serve/policy.h: specs and arms
  if (o.experiment_salt.size() > 256) {
    return Bad("experiment_salt", "longer than 256 bytes");
  }
  if (!std::isfinite(o.negative_weight) || o.negative_weight < 0 || o.negative_weight > 100) {
    return Bad("negative_weight", "must be in [0, 100]");
  }
  if (o.position_bias != "pbm" && o.position_bias != "cascade" && o.position_bias != "none") {
    return Bad("position_bias", "must be pbm, cascade or none, got '" + o.position_bias + "'");
  }
  if (!std::isfinite(o.weight_cap) || o.weight_cap < 1) {
    return Bad("weight_cap", "must be a finite number >= 1");
  }
  return ValidateLoopLearning(o);  // the impression learner's and reward ranker's options
}

}  // namespace flywheel::engine
