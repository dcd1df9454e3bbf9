// The JSON form of an event (doc/formats/event_json.md), shared by JSON Lines files and the
// HTTP API:
//   {"user": "u1", "item": "i9", "type": "click", "value": 1.0, "ts": 1700000000000,
//    "id": "e-1", "context": {"device": "ios"}}
// Required: user, item (non-empty strings, at most 256 bytes, valid UTF-8), type (known to the
// EventTypeTable), ts (integer milliseconds since the epoch, or an ISO-8601 string).
// Optional: value (finite number, default 1.0), id (non-empty string <= 256 bytes), context
// (object of string -> string|number|bool, at most 32 entries; numbers/bools kept as text).
// Unknown fields are rejected: "event: unknown field 'usr' (allowed: user, item, ...)".
// Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "flywheel/event.h"
#include "flywheel/event_types.h"
#include "flywheel/result.h"

namespace flywheel::data {

// Parses one JSON object. Errors are kInvalidArgument with a message naming the field.
Result<Event> ParseEventJson(std::string_view text, const EventTypeTable& types);
// The same from an already parsed JSON value (a batch's element: no second parse).
Result<Event> EventFromJson(const nlohmann::json& doc, const EventTypeTable& types);

// Checks the fields of an already-built event (ids, type, value, timestamp); used by every
// reader so that all interfaces apply the same rules.
Status ValidateEvent(const Event& event, const EventTypeTable& types);

// The field named by an error of ParseEventJson/ValidateEvent ("field 'ts': ..."), or empty.
std::string ErrorField(std::string_view message);

// Serialises an event to its canonical one-line JSON form (ts as integer milliseconds).
std::string EventToJson(const Event& event);

}  // namespace flywheel::data
