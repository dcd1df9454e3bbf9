// How the server shows the engine's write state (EngineStats::write_state; doc/http_api.md,
// "GET /readyz" and "Disk full"): /readyz answers 503 "failed" while writes fail (a full disk or
// a fatal log error) and 200 "ready" otherwise (read-only included), and a write answered 503
// on a full disk carries Retry-After.
#pragma once

#include "flywheel/engine.h"

#include "server/http_server.h"

namespace flywheel::server {

// The /readyz answer for an open engine.
Response ReadyzResponse(const Request& request, const EngineStats& stats);
// Sets Retry-After (seconds) on `response` when the engine's disk is full.
void AddRetryAfter(const EngineStats& stats, Response* response);

}  // namespace flywheel::server
