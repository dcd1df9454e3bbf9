// The logging flags of `flywheel serve` (--log-format, --log-level, --access-log) and the
// Logger they configure (base/log.h; doc/operations.md, "Logs").
#pragma once

#include <memory>
#include <vector>

#include "flywheel/result.h"

#include "base/log.h"
#include "flags.h"

namespace flywheel::cli {

std::vector<FlagSpec> LogFlagSpecs();
// The logger on stderr configured by the flags (kInvalidArgument naming a bad value).
Result<std::unique_ptr<base::Logger>> MakeLogger(const Flags& flags);

}  // namespace flywheel::cli
