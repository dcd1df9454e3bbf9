// RecoveryReportJson: the recovery report (include/flywheel/recovery_report.h) as the JSON
// object of GET /v1/stats "recovery", `flywheel inspect` and the "recovered" log line
// (doc/http_api.md, "Recovery report").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/recovery_report.h"

namespace flywheel::server {

nlohmann::json RecoveryReportJson(const RecoveryReport& report);

// The parts `flywheel repair --json` shares: damaged spans, refused snapshots, a torn tail (null
// when `file` is empty).
nlohmann::json RecoveryDamageJson(const std::vector<RecoveryDamage>& damage);
nlohmann::json RefusedSnapshotsJson(const std::vector<RefusedSnapshot>& refused);
nlohmann::json TornTailJson(const std::string& file, uint64_t offset, uint64_t bytes);

}  // namespace flywheel::server
