#include "data/event_json.h"

#include <cmath>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/time_util.h"

namespace flywheel::data {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxIdBytes = 256;
constexpr size_t kMaxContextEntries = 32;
constexpr size_t kMaxContextBytes = 1024;
constexpr size_t kMaxImpressions = 1000;  // engine::kMaxImpressionItems
// Timestamps must lie in [1970-01-01, 2200-01-01): catches seconds-vs-ms confusions far out.
constexpr TimestampMs kMaxTimestampMs = 7258118400000;

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("event: field '" + std::string(field) + "': " + std::string(what))
      .WithField(field);
}

Status CheckId(std::string_view field, const std::string& id) {
  const std::string problem = IdProblem(id);
  return problem.empty() ? Status::Ok() : FieldError(field, problem);
}

Result<std::string> GetString(const Json& value, std::string_view field) {
  if (!value.is_string()) {
    return FieldError(field, std::string("expected a string, got ") + value.type_name());
  }
  return value.get<std::string>();
}

Result<TimestampMs> NumericTimestamp(const Json& value, bool seconds) {
  const double number = value.get<double>();
  if (!std::isfinite(number)) {
    return FieldError("ts", "must be finite");
  }
  if (seconds) {
    if (std::abs(number) > 1e13) {
      return FieldError("ts", "out of range in seconds: " + value.dump());
    }
    return static_cast<TimestampMs>(std::llround(number * 1000.0));
  }
  if (!value.is_number_integer() && number != std::floor(number)) {
    return FieldError("ts", "expected integer milliseconds (or \"ts_unit\": \"s\")");
  }
  // A float outside int64's range cannot be cast (undefined behaviour); anything past the
  // year 2200 is refused below anyway.
  if (!value.is_number_integer() && std::abs(number) >= 9.0e18) {
    return FieldError("ts", "out of range [1970, 2200) in milliseconds: " + value.dump());
  }
  const TimestampMs ms =
      value.is_number_integer() ? value.get<int64_t>() : static_cast<TimestampMs>(number);
  FLYWHEEL_RETURN_IF_ERROR(CheckNumericTsMs(ms, "ts"));
  return ms;
}

// `ts` with its optional unit `ts_unit` ("ms", the default, or "s"; numbers only).
Result<TimestampMs> GetTimestamp(const Json& doc) {
  const Json& value = doc.at("ts");
  bool seconds = false;
  if (const auto unit = doc.find("ts_unit"); unit != doc.end()) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::string text, GetString(*unit, "ts_unit"));
    if (text != "s" && text != "ms") {
      return FieldError("ts_unit", "expected \"s\" or \"ms\", got '" + text + "'");
    }
    if (!value.is_number()) {
      return FieldError("ts_unit", "applies to a numeric 'ts' only");
    }
    seconds = text == "s";
  }
  if (value.is_number()) {
    return NumericTimestamp(value, seconds);
  }
  if (value.is_string()) {
    auto parsed = base::ParseIso8601(value.get<std::string>());
    if (!parsed.ok()) {
      return FieldError("ts", parsed.status().message());
    }
    return *parsed;
  }
  return FieldError(
      "ts", std::string("expected milliseconds or an ISO-8601 string, got ") + value.type_name());
}

Status ParseContext(const Json& value, KeyValues* context) {
  if (!value.is_object()) {
    return FieldError("context", std::string("expected an object, got ") + value.type_name());
  }
  if (value.size() > kMaxContextEntries) {
    return FieldError("context", "more than 32 entries");
  }
  for (const auto& [key, entry] : value.items()) {
    std::string text;
    if (entry.is_string()) {
      text = entry.get<std::string>();
    } else if (entry.is_number() || entry.is_boolean()) {
      text = entry.dump();
    } else {
      return FieldError("context." + key, "expected a string, number or boolean");
    }
    if (key.empty() || key.size() + text.size() > kMaxContextBytes) {
      return FieldError("context." + key, "empty key or entry longer than 1024 bytes");
    }
    context->emplace_back(key, std::move(text));
  }
  return Status::Ok();
}

Status ParseImpressions(const Json& value, std::vector<std::string>* items) {
  if (!value.is_array()) {
    return FieldError("impressions", std::string("expected an array, got ") + value.type_name());
  }
  if (value.empty() || value.size() > kMaxImpressions) {
    return FieldError("impressions", "must hold 1..1000 item ids, got " +
                                         std::to_string(value.size()) +
                                         (value.empty() ? " (omit the field instead)" : ""));
  }
  items->reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::string item,
                              GetString(value[i], "impressions[" + std::to_string(i) + "]"));
    items->push_back(std::move(item));
  }
  return Status::Ok();
}

Status ParseField(const std::string& key, const Json& value, Event* event) {
  if (key == "user" || key == "item" || key == "type" || key == "id") {
    FLYWHEEL_ASSIGN_OR_RETURN(std::string text, GetString(value, key));
    if (key == "user") {
      event->user = std::move(text);
    } else if (key == "item") {
      event->item = std::move(text);
    } else if (key == "type") {
      event->type = std::move(text);
    } else if (text.empty()) {
      return FieldError("id", "must not be empty (omit the field instead)");
    } else {
      event->id = std::move(text);
    }
  } else if (key == "ts" || key == "ts_unit") {
    return Status::Ok();  // together, once every field is known (GetTimestamp)
  } else if (key == "value") {
    if (!value.is_number()) {
      return FieldError("value", std::string("expected a number, got ") + value.type_name());
    }
    event->value = value.get<double>();
  } else if (key == "context") {
    FLYWHEEL_RETURN_IF_ERROR(ParseContext(value, &event->context));
  } else if (key == "recommendation_id") {
    FLYWHEEL_ASSIGN_OR_RETURN(event->recommendation_id, GetString(value, key));
    if (event->recommendation_id.empty()) {
      return FieldError(key, "must not be empty (omit the field instead)");
    }
  } else if (key == "impressions") {
    FLYWHEEL_RETURN_IF_ERROR(ParseImpressions(value, &event->impressions));
  } else {
    return Status::InvalidArgument("event: unknown field '" + key +
                                   "' (allowed: user, item, type, value, ts, ts_unit, id, "
                                   "context, recommendation_id, impressions)")
        .WithField(key);
  }
  return Status::Ok();
}

Status ValidateEventImpressions(const Event& event) {
  if (!event.recommendation_id.empty()) {
    FLYWHEEL_RETURN_IF_ERROR(CheckId("recommendation_id", event.recommendation_id));
  }
  if (event.impressions.size() > kMaxImpressions) {
    return FieldError("impressions", "more than 1000 items");
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < event.impressions.size(); ++i) {
    const std::string field = "impressions[" + std::to_string(i) + "]";
    FLYWHEEL_RETURN_IF_ERROR(CheckId(field, event.impressions[i]));
    if (!seen.insert(event.impressions[i]).second) {
      return FieldError(field, "item '" + event.impressions[i] + "' appears twice");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string IdProblem(std::string_view id) {
  if (id.empty()) {
    return "must not be empty";
  }
  if (id.size() > kMaxIdBytes) {
    return "longer than 256 bytes";
  }
  if (!base::IsValidUtf8(id)) {
    return "not valid UTF-8";
  }
  if (base::HasControlCharacter(id)) {
    return "contains a control character (U+0000..U+001F, U+007F)";
  }
  return "";
}

Status ValidateEvent(const Event& event, const EventTypeTable& types) {
  FLYWHEEL_RETURN_IF_ERROR(CheckId("user", event.user));
  FLYWHEEL_RETURN_IF_ERROR(CheckId("item", event.item));
  if (!event.id.empty()) {
    FLYWHEEL_RETURN_IF_ERROR(CheckId("id", event.id));
  }
  FLYWHEEL_RETURN_IF_ERROR(ValidateEventImpressions(event));
  auto type = types.Find(event.type);
  if (!type.ok()) {
    return FieldError("type", type.status().message());
  }
  if (!std::isfinite(event.value)) {
    return FieldError("value", "must be finite");
  }
  if (event.ts_ms < 0 || event.ts_ms >= kMaxTimestampMs) {
    return FieldError("ts",
                      "out of range [1970, 2200) in milliseconds: " + std::to_string(event.ts_ms));
  }
  return Status::Ok();
}

Result<Event> ParseEventJson(std::string_view text, const EventTypeTable& types) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("event: not valid JSON");
  }
  return EventFromJson(doc, types);
}

Result<Event> EventFromJson(const nlohmann::json& doc, const EventTypeTable& types) {
  FLYWHEEL_ASSIGN_OR_RETURN(Event event, EventFieldsFromJson(doc));
  FLYWHEEL_RETURN_IF_ERROR(ValidateEvent(event, types));
  return event;
}

Result<Event> EventFieldsFromJson(const nlohmann::json& doc) {
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string("event: expected a JSON object, got ") +
                                   doc.type_name());
  }
  Event event;
  try {
    for (const auto& [key, value] : doc.items()) {
      FLYWHEEL_RETURN_IF_ERROR(ParseField(key, value, &event));
    }
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("event: ") + e.what());
  }
  for (const char* field : {"user", "item", "type", "ts"}) {
    if (!doc.contains(field)) {
      return FieldError(field, "missing");
    }
  }
  FLYWHEEL_ASSIGN_OR_RETURN(event.ts_ms, GetTimestamp(doc));
  return event;
}

Status CheckNumericTsMs(TimestampMs ms, std::string_view field) {
  // Real event data starts later (MovieLens 100K: 1997); 1700000000 s read as ms is 1970-01-20.
  if (ms >= 0 && ms < kMinNumericTsMs) {
    return FieldError(field, std::to_string(ms) + " is " + base::FormatIso8601(ms) +
                                 " in milliseconds, before 1990: is it in seconds? Send "
                                 "milliseconds, an ISO-8601 time, or (JSON) seconds with "
                                 "\"ts_unit\": \"s\"");
  }
  return Status::Ok();
}

Status CheckNotInFuture(const Event& event, TimestampMs now_ms) {
  if (event.ts_ms > now_ms + kMaxFutureMs) {
    return FieldError("ts", base::FormatIso8601(event.ts_ms) +
                                " is more than a day in the future (server time " +
                                base::FormatIso8601(now_ms) + ")");
  }
  return Status::Ok();
}

std::string EventToJson(const Event& event) {
  Json doc = Json::object();
  doc["user"] = event.user;
  doc["item"] = event.item;
  doc["type"] = event.type;
  doc["value"] = event.value;
  // A time before 1990 is written as ISO-8601: as a bare number it would be refused as
  // probable seconds (CheckNumericTsMs), so the canonical form would not parse back.
  if (event.ts_ms < kMinNumericTsMs) {
    doc["ts"] = base::FormatIso8601(event.ts_ms);
  } else {
    doc["ts"] = event.ts_ms;
  }
  if (!event.id.empty()) {
    doc["id"] = event.id;
  }
  if (!event.context.empty()) {
    Json context = Json::object();
    for (const auto& [key, value] : event.context) {
      context[key] = value;
    }
    doc["context"] = std::move(context);
  }
  if (!event.recommendation_id.empty()) {
    doc["recommendation_id"] = event.recommendation_id;
  }
  if (!event.impressions.empty()) {
    doc["impressions"] = event.impressions;
  }
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace flywheel::data
