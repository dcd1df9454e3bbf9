// The stream entry format (doc/stream.md, "Entries"): what one Redis Stream entry holds and how
// it becomes events. Pure functions, no I/O (fuzzed by fuzz/stream_entry_fuzz.cc).
//
// An entry has exactly one field: `event` (one event's JSON object, doc/formats/event_json.md)
// or `events` (a JSON array of 1..max_events of them). An event without "id" gets
// "<entry id>/<index>", so that a redelivered entry is recognised by the engine's dedup window
// and applied once. Anything else (another or a second field, JSON that does not parse, an event
// that does not validate as JSON, an entry over max_bytes) is an error whose message is the
// reason the entry is parked in the dead-letter stream. The verdict never depends on the clock
// or on the node, so every consumer of the stream decides the same.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"

namespace flywheel::stream {

using EntryFields = std::vector<std::pair<std::string, std::string>>;

struct EntryLimits {
  size_t max_bytes = 1 << 20;  // all field names and values together
  size_t max_events = 10000;   // events in one `events` array
};

// Appends the entry's events to `out` (nothing on error).
Status DecodeEntry(std::string_view entry_id, const EntryFields& fields, const EntryLimits& limits,
                   std::vector<Event>* out);

// The fields of the entry a producer appends for `events` (each a JSON object's text):
// {"event": ...} for one, {"events": [...]} for more.
EntryFields EncodeEntry(const std::vector<std::string>& events);

}  // namespace flywheel::stream
