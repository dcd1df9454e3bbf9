// The stream entry format (doc/stream.md, "Entries"): what one Redis Stream entry holds and how
// it becomes events or a catalogue record. Pure functions, no I/O (fuzzed by
// fuzz/stream_entry_fuzzer.cc).
//
// An entry has exactly one field:
//   event        one event's JSON object (doc/formats/event_json.md)
//   events       a JSON array of 1..max_events of them (applied all or nothing)
//   items        a JSON array of 1..1000 item objects ({"id", ...the PUT /v1/items body})
//   delete_item  an item id
//   user         a user object ({"id", ...the PUT /v1/users body})
//   forget_user  a user id
// An event without "id" gets "<entry id>/<index>", so that a redelivered entry is recognised
// by the engine's dedup window and applied once. Anything else (another or a second field,
// JSON that does not parse, a value that does not validate, an entry over max_bytes) is an error
// whose message is the reason the entry is parked in the dead-letter stream. The verdict never
// depends on the clock or on the node, so every consumer of the stream decides the same.
#pragma once

#include <optional>
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

// A catalogue record carried by the stream, applied through the engine's catalogue calls.
struct CatalogEntry {
  enum class Kind { kPutItems, kDeleteItem, kPutUser, kForgetUser };
  Kind kind = Kind::kPutItems;
  std::vector<Item> items;  // kPutItems
  User user;                // kPutUser
  std::string id;           // kDeleteItem, kForgetUser
};

struct DecodedEntry {
  std::vector<Event> events;            // event / events
  std::optional<CatalogEntry> catalog;  // the other fields
};

// Decodes one entry into `out` (left empty on error).
Status DecodeEntry(std::string_view entry_id, const EntryFields& fields, const EntryLimits& limits,
                   DecodedEntry* out);

// The fields of the entry a producer appends for `events` (each a JSON object's text):
// {"event": ...} for one, {"events": [...]} for more.
EntryFields EncodeEntry(const std::vector<std::string>& events);

}  // namespace flywheel::stream
