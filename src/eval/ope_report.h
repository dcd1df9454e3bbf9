// The off-policy evaluation report of `flywheel ope` (doc/ope.md): a text table per target
// policy and the JSON document of --json.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "eval/ope.h"

namespace flywheel::eval {

// The JSON document (doc/ope.md, "The JSON document"); non-finite numbers are null.
nlohmann::json OpeReportJson(const OpeReport& report, const OpeData& data,
                             const OpeOptions& options);

// The table printed by `flywheel ope`: the logging policy's mean first, then per target one
// line per estimator (value [95 % interval] per value, ESS, lists used and skipped).
std::string OpeReportTable(const OpeReport& report, const OpeOptions& options);

}  // namespace flywheel::eval
