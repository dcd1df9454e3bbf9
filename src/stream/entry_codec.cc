#include "stream/entry_codec.h"

#include <nlohmann/json.hpp>

#include "data/event_json.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;

Status Refuse(const std::string& why) {
  return Status::InvalidArgument(why);
}

// One event's JSON; an event without an id gets the entry's.
Status AddEvent(std::string_view entry_id, size_t index, const json& doc, const std::string& where,
                std::vector<Event>* out) {
  Result<Event> event = data::EventFieldsFromJson(doc);
  if (!event.ok()) {
    const std::string& field = event.status().field();
    return Refuse(where + (field.empty() ? "" : "." + field) + ": " + event.status().message());
  }
  if (event->id.empty()) {
    event->id = std::string(entry_id) + "/" + std::to_string(index);
  }
  out->push_back(std::move(event).value());
  return Status::Ok();
}

}  // namespace

Status DecodeEntry(std::string_view entry_id, const EntryFields& fields, const EntryLimits& limits,
                   std::vector<Event>* out) {
  size_t bytes = 0;
  for (const auto& [name, value] : fields) {
    bytes += name.size() + value.size();
  }
  if (bytes > limits.max_bytes) {
    return Refuse("entry of " + std::to_string(bytes) + " bytes is over the limit of " +
                  std::to_string(limits.max_bytes));
  }
  if (fields.size() != 1) {
    std::string names;
    for (const auto& f : fields) {
      names += (names.empty() ? "" : ", ") + f.first;
    }
    return Refuse("expected exactly one field, event or events; got " +
                  (fields.empty() ? std::string("none") : names));
  }
  const auto& [name, value] = fields.front();
  if (name != "event" && name != "events") {
    return Refuse("unknown field '" + name + "' (expected event or events)");
  }
  const json doc = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Refuse(name + ": not valid JSON");
  }
  std::vector<Event> events;
  if (name == "event") {
    if (!doc.is_object()) {
      return Refuse("event: expected a JSON object");
    }
    FLYWHEEL_RETURN_IF_ERROR(AddEvent(entry_id, 0, doc, "event", &events));
  } else {
    if (!doc.is_array() || doc.empty()) {
      return Refuse("events: expected a non-empty JSON array");
    }
    if (doc.size() > limits.max_events) {
      return Refuse("events: " + std::to_string(doc.size()) + " events, more than " +
                    std::to_string(limits.max_events));
    }
    events.reserve(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
      FLYWHEEL_RETURN_IF_ERROR(
          AddEvent(entry_id, i, doc[i], "events[" + std::to_string(i) + "]", &events));
    }
  }
  for (Event& e : events) {
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

EntryFields EncodeEntry(const std::vector<std::string>& events) {
  if (events.size() == 1) {
    return {{"event", events.front()}};
  }
  std::string array = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    array += (i == 0 ? "" : ",") + events[i];
  }
  array += "]";
  return {{"events", std::move(array)}};
}

}  // namespace flywheel::stream
