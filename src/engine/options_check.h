// The checks of Engine::Open on its options (kInvalidArgument naming what is wrong; kNotFound for
// a read-only open of a directory that is not a data directory).
#pragma once

#include "flywheel/engine.h"
#include "flywheel/status.h"

namespace flywheel::io {
class Env;
}

namespace flywheel::engine {

Status ValidateEngineOptions(const EngineOptions& options, io::Env* env);

}  // namespace flywheel::engine
