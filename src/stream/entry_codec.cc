#include "stream/entry_codec.h"

#include <nlohmann/json.hpp>

#include "data/catalog_json.h"
#include "data/event_json.h"
#include "data/item_batch.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;

Status Refuse(const std::string& why) {
  return Status::InvalidArgument(why);
}

std::string Where(const std::string& where, const Status& st) {
  return where + (st.field().empty() ? "" : "." + st.field()) + ": " + st.message();
}

// One event's JSON; an event without an id gets the entry's.
Status AddEvent(std::string_view entry_id, size_t index, const json& doc, const std::string& where,
                std::vector<Event>* out) {
  Result<Event> event = data::EventFieldsFromJson(doc);
  if (!event.ok()) {
    return Refuse(Where(where, event.status()));
  }
  if (event->id.empty()) {
    event->id = std::string(entry_id) + "/" + std::to_string(index);
  }
  out->push_back(std::move(event).value());
  return Status::Ok();
}

Status DecodeEvents(std::string_view entry_id, const std::string& name, const json& doc,
                    const EntryLimits& limits, std::vector<Event>* out) {
  if (name == "event") {
    if (!doc.is_object()) {
      return Refuse("event: expected a JSON object");
    }
    return AddEvent(entry_id, 0, doc, "event", out);
  }
  if (!doc.is_array() || doc.empty()) {
    return Refuse("events: expected a non-empty JSON array");
  }
  if (doc.size() > limits.max_events) {
    return Refuse("events: " + std::to_string(doc.size()) + " events, more than " +
                  std::to_string(limits.max_events));
  }
  out->reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(
        AddEvent(entry_id, i, doc[i], "events[" + std::to_string(i) + "]", out));
  }
  return Status::Ok();
}

Status DecodeItems(const json& doc, CatalogEntry* out) {
  if (!doc.is_array() || doc.empty() || doc.size() > data::kMaxItemsPerBatch) {
    return Refuse("items: expected a JSON array of 1.." + std::to_string(data::kMaxItemsPerBatch) +
                  " items");
  }
  for (size_t i = 0; i < doc.size(); ++i) {
    Result<Item> item = data::ItemFromJson(doc[i]);
    if (!item.ok()) {
      return Refuse(Where("items[" + std::to_string(i) + "]", item.status()));
    }
    out->items.push_back(std::move(item).value());
  }
  const std::vector<data::ItemError> errors = data::ItemBatchErrors(out->items);
  if (!errors.empty()) {
    const data::ItemError& e = errors.front();
    return Refuse("items[" + std::to_string(e.index) + "]" +
                  (e.field.empty() ? "" : "." + e.field) + ": " + e.message);
  }
  out->kind = CatalogEntry::Kind::kPutItems;
  return Status::Ok();
}

Status DecodeUser(const json& doc, CatalogEntry* out) {
  if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) {
    return Refuse("user: expected a JSON object with a string \"id\"");
  }
  json body = doc;
  body.erase("id");
  Result<User> user = data::ParseUserJson(doc["id"].get<std::string>(), body.dump());
  if (!user.ok()) {
    return Refuse(Where("user", user.status()));
  }
  out->kind = CatalogEntry::Kind::kPutUser;
  out->user = std::move(user).value();
  return Status::Ok();
}

}  // namespace

Status DecodeEntry(std::string_view entry_id, const EntryFields& fields, const EntryLimits& limits,
                   DecodedEntry* out) {
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
    return Refuse(
        "expected exactly one field (event, events, items, delete_item, user, "
        "forget_user); got " +
        (fields.empty() ? std::string("none") : names));
  }
  const auto& [name, value] = fields.front();
  if (name == "delete_item" || name == "forget_user") {
    if (std::string problem = data::IdProblem(value); !problem.empty()) {
      return Refuse(name + ": " + problem);
    }
    CatalogEntry entry;
    entry.kind =
        name == "delete_item" ? CatalogEntry::Kind::kDeleteItem : CatalogEntry::Kind::kForgetUser;
    entry.id = value;
    out->catalog = std::move(entry);
    return Status::Ok();
  }
  if (name != "event" && name != "events" && name != "items" && name != "user") {
    return Refuse("unknown field '" + name +
                  "' (expected event, events, items, delete_item, user or forget_user)");
  }
  const json doc = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Refuse(name + ": not valid JSON");
  }
  if (name == "items" || name == "user") {
    CatalogEntry entry;
    FLYWHEEL_RETURN_IF_ERROR(name == "items" ? DecodeItems(doc, &entry) : DecodeUser(doc, &entry));
    out->catalog = std::move(entry);
    return Status::Ok();
  }
  std::vector<Event> events;
  FLYWHEEL_RETURN_IF_ERROR(DecodeEvents(entry_id, name, doc, limits, &events));
  out->events = std::move(events);
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
