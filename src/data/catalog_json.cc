#include "data/catalog_json.h"

#include <cmath>
#include <string>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/time_util.h"

namespace flywheel::data {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxIdBytes = 256;
constexpr TimestampMs kMaxTimestampMs = 7258118400000;  // 2200-01-01, as for events

Status FieldError(std::string_view what, std::string_view field, std::string_view message) {
  return Status::InvalidArgument(std::string(what) + ": field '" + std::string(field) +
                                 "': " + std::string(message))
      .WithField(field);
}

Status CheckText(std::string_view what, std::string_view field, const std::string& text,
                 size_t max_bytes, bool allow_empty) {
  if (!allow_empty && text.empty()) {
    return FieldError(what, field, "must not be empty");
  }
  if (text.size() > max_bytes) {
    return FieldError(what, field, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!base::IsValidUtf8(text)) {
    return FieldError(what, field, "not valid UTF-8");
  }
  return Status::Ok();
}

// An id: text without control characters (a NUL or newline in an id breaks logs, exports and
// the ids of other tools).
Status CheckId(std::string_view what, std::string_view field, const std::string& id) {
  FLYWHEEL_RETURN_IF_ERROR(CheckText(what, field, id, kMaxIdBytes, false));
  if (base::HasControlCharacter(id)) {
    return FieldError(what, field, "contains a control character (U+0000..U+001F, U+007F)");
  }
  return Status::Ok();
}

Status CheckAttributes(std::string_view what, const KeyValues& attributes) {
  if (attributes.size() > kMaxAttributes) {
    return FieldError(what, "attributes",
                      "more than " + std::to_string(kMaxAttributes) + " entries");
  }
  std::unordered_set<std::string_view> keys;
  for (const auto& [key, value] : attributes) {
    const std::string field = "attributes." + key.substr(0, 64);
    FLYWHEEL_RETURN_IF_ERROR(CheckText(what, field, key, kMaxIdBytes, false));
    FLYWHEEL_RETURN_IF_ERROR(CheckText(what, field, value, kMaxCatalogString, true));
    if (!keys.insert(key).second) {
      return FieldError(what, field, "repeated key");
    }
  }
  return Status::Ok();
}

Result<KeyValues> ParseAttributes(std::string_view what, const Json& value) {
  if (!value.is_object()) {
    return FieldError(what, "attributes",
                      std::string("expected an object, got ") + value.type_name());
  }
  KeyValues out;
  for (const auto& [key, v] : value.items()) {
    const std::string field = "attributes." + key.substr(0, 64);
    if (v.is_string()) {
      out.emplace_back(key, v.get<std::string>());
    } else if (v.is_boolean()) {
      out.emplace_back(key, v.get<bool>() ? "true" : "false");
    } else if (v.is_number_integer()) {
      out.emplace_back(key, v.dump());
    } else if (v.is_number_float()) {
      if (!std::isfinite(v.get<double>())) {
        return FieldError(what, field, "must be finite");
      }
      out.emplace_back(key, v.dump());
    } else {
      return FieldError(what, field,
                        std::string("expected a string, number or boolean, got ") + v.type_name());
    }
  }
  return out;
}

Result<std::vector<std::string>> ParseStringList(std::string_view what, std::string_view field,
                                                 const Json& value, size_t max_entries) {
  if (!value.is_array()) {
    return FieldError(what, field, std::string("expected an array, got ") + value.type_name());
  }
  if (value.size() > max_entries) {
    return FieldError(what, field, "more than " + std::to_string(max_entries) + " entries");
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string entry = std::string(field) + "[" + std::to_string(i) + "]";
    if (!value[i].is_string()) {
      return FieldError(what, entry, std::string("expected a string, got ") + value[i].type_name());
    }
    std::string s = value[i].get<std::string>();
    FLYWHEEL_RETURN_IF_ERROR(CheckText(what, entry, s, kMaxIdBytes, false));
    if (seen.insert(s).second) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<Json> ParseObject(std::string_view what, std::string_view text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument(std::string(what) + ": not valid JSON");
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument(std::string(what) + ": expected a JSON object, got " +
                                   doc.type_name());
  }
  return doc;
}

}  // namespace

Status ValidateItem(const Item& item) {
  FLYWHEEL_RETURN_IF_ERROR(CheckId("item", "id", item.id));
  FLYWHEEL_RETURN_IF_ERROR(CheckText("item", "title", item.title, kMaxCatalogString, true));
  if (item.categories.size() > kMaxCategories) {
    return FieldError("item", "categories",
                      "more than " + std::to_string(kMaxCategories) + " entries");
  }
  if (item.tags.size() > kMaxTags) {
    return FieldError("item", "tags", "more than " + std::to_string(kMaxTags) + " entries");
  }
  for (size_t i = 0; i < item.categories.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(CheckText("item", "categories[" + std::to_string(i) + "]",
                                       item.categories[i], kMaxIdBytes, false));
  }
  for (size_t i = 0; i < item.tags.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(
        CheckText("item", "tags[" + std::to_string(i) + "]", item.tags[i], kMaxIdBytes, false));
  }
  FLYWHEEL_RETURN_IF_ERROR(CheckAttributes("item", item.attributes));
  if (item.created_ms < 0 || item.created_ms >= kMaxTimestampMs) {
    return FieldError("item", "created", "out of range [1970, 2200) in milliseconds");
  }
  return Status::Ok();
}

Status ValidateUser(const User& user) {
  FLYWHEEL_RETURN_IF_ERROR(CheckId("user", "id", user.id));
  return CheckAttributes("user", user.attributes);
}

Result<Item> ParseItemJson(std::string_view id, std::string_view text) {
  FLYWHEEL_ASSIGN_OR_RETURN(Json doc, ParseObject("item", text));
  Item item;
  item.id = std::string(id);
  for (const auto& [key, value] : doc.items()) {
    if (key == "title") {
      if (!value.is_string()) {
        return FieldError("item", "title",
                          std::string("expected a string, got ") + value.type_name());
      }
      item.title = value.get<std::string>();
    } else if (key == "categories") {
      FLYWHEEL_ASSIGN_OR_RETURN(item.categories,
                                ParseStringList("item", key, value, kMaxCategories));
    } else if (key == "tags") {
      FLYWHEEL_ASSIGN_OR_RETURN(item.tags, ParseStringList("item", key, value, kMaxTags));
    } else if (key == "attributes") {
      FLYWHEEL_ASSIGN_OR_RETURN(item.attributes, ParseAttributes("item", value));
    } else if (key == "created") {
      if (value.is_number_integer()) {
        item.created_ms = value.get<int64_t>();
      } else if (value.is_string()) {
        Result<TimestampMs> ts = base::ParseIso8601(value.get<std::string>());
        if (!ts.ok()) {
          return FieldError("item", "created", ts.status().message());
        }
        item.created_ms = *ts;
      } else {
        return FieldError("item", "created",
                          std::string("expected integer milliseconds or an ISO-8601 string, got ") +
                              value.type_name());
      }
    } else {
      return Status::InvalidArgument("item: unknown field '" + key.substr(0, 64) +
                                     "' (allowed: title, categories, tags, attributes, created)")
          .WithField(key.substr(0, 64));
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(ValidateItem(item));
  return item;
}

Result<User> ParseUserJson(std::string_view id, std::string_view text) {
  FLYWHEEL_ASSIGN_OR_RETURN(Json doc, ParseObject("user", text));
  User user;
  user.id = std::string(id);
  for (const auto& [key, value] : doc.items()) {
    if (key == "attributes") {
      FLYWHEEL_ASSIGN_OR_RETURN(user.attributes, ParseAttributes("user", value));
    } else {
      return Status::InvalidArgument("user: unknown field '" + key.substr(0, 64) +
                                     "' (allowed: attributes)")
          .WithField(key.substr(0, 64));
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(ValidateUser(user));
  return user;
}

}  // namespace flywheel::data
