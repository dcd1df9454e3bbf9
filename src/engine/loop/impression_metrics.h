// The impression metrics of `/metrics` (doc/http_api.md, GET /metrics; doc/loop.md): every name
// contains "impression". Pure function of ImpressionStats; any thread.
#pragma once

#include <string>

#include "flywheel/impression.h"

namespace flywheel::engine {

// Prometheus text: counters of recorded, duplicate and bad impressions, items shown, closed,
// early-closed and clicked lists, the reward sum, attributed and unattributed events (label
// reason), per-position shown/clicked/reward (label position "0".."9", "10+"), the open lists
// and items (gauges) and the attribution lag histogram (seconds of event time).
std::string ImpressionMetricsText(const ImpressionStats& s);

}  // namespace flywheel::engine
