// RecoveryReportJson: the recovery report (include/flywheel/recovery_report.h) as the JSON
// object of GET /v1/stats "recovery", `flywheel inspect` and the "recovered" log line
// (doc/http_api.md, "Recovery report").
#pragma once

#include <nlohmann/json.hpp>

#include "flywheel/recovery_report.h"

namespace flywheel::server {

nlohmann::json RecoveryReportJson(const RecoveryReport& report);

}  // namespace flywheel::server
