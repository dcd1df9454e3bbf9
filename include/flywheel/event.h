// Event, Item and User: the records applications send to Flywheel, with external string ids.
//
// The JSON form of an event (every interface: JSON Lines files, the HTTP API) is
//   {"user": "u1", "item": "i9", "type": "click", "value": 1.0, "ts": 1700000000000,
//    "id": "e-1", "context": {"device": "ios"}}
// with "ts" in milliseconds since the epoch or an ISO-8601 string; "value", "id" and "context"
// optional; unknown fields are rejected. See doc/formats/event_json.md and data/event_json.h.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "flywheel/types.h"

namespace flywheel {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Event {
  std::string user;       // external user id, non-empty
  std::string item;       // external item id, non-empty
  std::string type;       // an event type name known to the EventTypeTable ("click", ...)
  double value = 1.0;     // rating, play count, price...; 1.0 when absent
  TimestampMs ts_ms = 0;  // event time
  std::string id;         // optional idempotency id; empty when absent
  KeyValues context;      // optional context (device, place...), in input order
  // The served list this event answers (doc/loop.md, "Attribution"); empty when none.
  std::string recommendation_id{};
  // An explicit list shown with this event (logged as an impression before it); empty: none.
  std::vector<std::string> impressions{};
};

struct Item {
  std::string id;                       // external item id
  std::string title;                    // may be empty
  std::vector<std::string> categories;  // genres, categories (ordered, no duplicates)
  std::vector<std::string> tags;        // free-form tags
  KeyValues attributes;                 // e.g. {"year", "1995"}, {"price", "12.5"}
  TimestampMs created_ms = 0;           // 0 when unknown
};

struct User {
  std::string id;
  KeyValues attributes;  // e.g. {"age", "25"}, {"gender", "F"}
};

}  // namespace flywheel
