// What the API needs of a node in a replicated deployment (doc/stream.md): where accepted
// events go instead of the local log (a stream producer), and what the node has consumed from
// the stream (its version, lag and counters). Implemented by src/stream; the server sees only
// these interfaces, so it does not depend on Redis.
//
// Threads: called from the HTTP worker threads concurrently; implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/result.h"

namespace flywheel::server {

// Producer mode: POST /v1/events and the catalogue writes append their validated body here as one
// stream entry (doc/stream.md, "Entries") and answer with the entry id.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // One entry with one field (`items`, `delete_item`, `user`, `forget_user`). The entry id
  // ("<ms>-<n>"), once the stream holds it. kUnavailable when it cannot.
  virtual Result<std::string> Append(std::string_view field, std::string value) = 0;
  // One entry holding `events` (each an event's JSON object), in the entry format's event
  // field(s); the entry id as Append's.
  virtual Result<std::string> AppendEvents(const std::vector<std::string>& events) = 0;
  virtual std::string Describe() const = 0;  // "redis://host:port/stream"
};

// A node consuming the stream: trainer or replica.
class StreamView {
 public:
  virtual ~StreamView() = default;
  // The "stream" object of GET /v1/stats and GET /v1/replication (doc/http_api.md).
  virtual nlohmann::json Stats() const = 0;
  // The id of the newest entry whose events are all applied and visible ("0-0": none yet).
  virtual std::string AppliedId() const = 0;
  // Waits until AppliedId() >= `id`. kDeadlineExceeded after `timeout_ms`; kInvalidArgument
  // when `id` is not an entry id.
  virtual Status WaitApplied(std::string_view id, int timeout_ms) const = 0;
};

// A trainer's side of bootstrapping a new replica (doc/stream.md, "A new replica").
class BootstrapSource {
 public:
  virtual ~BootstrapSource() = default;
  // Writes a snapshot now and answers the manifest: {"snapshot_seq", "stream_id" (the newest
  // entry whose events are all in it), "files": [{"name", "bytes"}...]}. kUnavailable while the
  // entry is not known yet (retry).
  virtual Result<nlohmann::json> Prepare() = 0;
  // The bytes of a file the manifest named; kNotFound for any other name.
  virtual Result<std::string> ReadFile(std::string_view name) const = 0;
};

}  // namespace flywheel::server
