// The JSON form of an event (doc/formats/event_json.md), shared by JSON Lines files and the
// HTTP API:
//   {"user": "u1", "item": "i9", "type": "click", "value": 1.0, "ts": 1700000000000,
//    "id": "e-1", "context": {"device": "ios"}}
// Required: user, item (non-empty strings, at most 256 bytes, valid UTF-8), type (known to the
// EventTypeTable), ts (integer milliseconds since the epoch, not before 1990; seconds with
// "ts_unit": "s"; or an ISO-8601 string).
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

// Errors are structured: kInvalidArgument whose Status::field() is the field concerned ("ts",
// "context.device", an unknown field's name; empty for "not valid JSON" or a non-object) and
// whose message names it for humans ("event: field 'ts': missing"). Callers read field(), never
// the message.

// Parses and validates one JSON object.
Result<Event> ParseEventJson(std::string_view text, const EventTypeTable& types);
// The same from an already parsed JSON value (no second parse).
Result<Event> EventFromJson(const nlohmann::json& doc, const EventTypeTable& types);
// Only the JSON form, not the values: an object, known fields of the right JSON types, the
// required ones present, an "id" not empty. ValidateEvent checks the rest; EventFromJson is the
// two in a row. For callers whose events are validated later anyway (the HTTP API hands its
// batches to Engine::Ingest, which validates each event once).
Result<Event> EventFieldsFromJson(const nlohmann::json& doc);

// What is wrong with an id (user, item, event id, recommendation id, an impression's item):
// empty, over 256 bytes, invalid UTF-8 or a control character; "" when it is fine.
std::string IdProblem(std::string_view id);

// Checks the values of an already-built event (ids, type, value, timestamp); used by every
// reader and by the engine so that all interfaces apply the same rules.
Status ValidateEvent(const Event& event, const EventTypeTable& types);

// A numeric `ts` in milliseconds before 1990-01-01 is refused as probably seconds (every Unix
// time in seconds until the year 21970 is one): kInvalidArgument naming `field`. The JSON form
// and the CSV reader apply it to numeric timestamps.
inline constexpr TimestampMs kMinNumericTsMs = 631152000000;  // 1990-01-01T00:00:00Z
Status CheckNumericTsMs(TimestampMs ms, std::string_view field);

// Live events (the HTTP API): kInvalidArgument naming 'ts' when the event lies more than a day
// after `now_ms` (a clock or unit error; historical data may be as old as it likes).
inline constexpr TimestampMs kMaxFutureMs = 24LL * 3600 * 1000;
Status CheckNotInFuture(const Event& event, TimestampMs now_ms);

// Serialises an event to its canonical one-line JSON form (ts as integer milliseconds).
std::string EventToJson(const Event& event);

}  // namespace flywheel::data
