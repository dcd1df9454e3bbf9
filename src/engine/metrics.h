// The engine's Prometheus text (doc/http_api.md, GET /metrics): gauges from EngineStats and the
// freshness and ingest-latency histograms. Pure function of its inputs; any thread.
#pragma once

#include <string>

#include "flywheel/engine.h"

#include "base/histogram.h"

namespace flywheel::engine {

std::string MetricsText(const EngineStats& s, const base::AtomicHistogram& freshness,
                        const base::AtomicHistogram& ingest_latency);

}  // namespace flywheel::engine
