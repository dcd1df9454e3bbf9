// Checks of EngineOptions::loop at Engine::Open (doc/loop.md, doc/config.md "loop.*").
#pragma once

#include <string_view>

#include "flywheel/loop_options.h"
#include "flywheel/result.h"

namespace flywheel::engine {

// kInvalidArgument whose field() is "loop.<key>" for the first bad value.
Status ValidateLoopOptions(const LoopOptions& options);

// A policy spec a request (RecommendQuery::policy) or loop.policy may name. The exploration
// policies (serve/policy.h) replace this check with their parser; until they are built the
// only policy is "greedy". kInvalidArgument (no field: the caller names it).
Status CheckPolicySpec(std::string_view spec);

}  // namespace flywheel::engine
