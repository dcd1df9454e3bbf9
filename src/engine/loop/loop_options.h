// Checks of EngineOptions::loop at Engine::Open (doc/loop.md, doc/config.md "loop.*").
#pragma once

#include <string_view>

#include "flywheel/loop_options.h"
#include "flywheel/result.h"

namespace flywheel::engine {

// kInvalidArgument whose field() is "loop.<key>" for the first bad value.
Status ValidateLoopOptions(const LoopOptions& options);

}  // namespace flywheel::engine
