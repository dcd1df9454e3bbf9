// ImpressionStatsJson: the impression counters (flywheel/impression.h) as the JSON object of
// GET /v1/stats "impressions" (doc/http_api.md), with the rates derived from them: click-through
// and reward per list, and per position.
#pragma once

#include <nlohmann/json.hpp>

#include "flywheel/impression.h"

namespace flywheel::server {

nlohmann::json ImpressionStatsJson(const ImpressionStats& s);

}  // namespace flywheel::server
