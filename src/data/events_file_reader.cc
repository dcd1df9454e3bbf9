// Generic event files: JSON Lines (.jsonl, .ndjson, .json; optionally .gz) with one event object
// per line (data/event_json.h; blank lines and lines starting with '#' are skipped), or CSV with
// a header naming the columns among user,item,type,value,ts,id (user, item, type and ts
// required; ts in integer milliseconds or ISO-8601; empty value = 1, empty id = none).
//
// Item metadata comes from "<stem>.items.jsonl" next to the file when it exists (stem = the file
// name without its extension and .gz), one object per line:
//   {"id": "i1", "title": "...", "categories": ["a"], "tags": ["t"], "attributes": {"k": "v"},
//    "created": 1700000000000 | "2023-11-14T22:13:20Z"}
// (only id required; attribute numbers and booleans are kept as text).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "base/strings.h"
#include "base/time_util.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/event_json.h"
#include "data/reader_common.h"

namespace flywheel::data {
namespace {

using Json = nlohmann::json;

enum Column { kUser, kItem, kType, kValue, kTs, kId, kNumColumns };
constexpr std::string_view kColumnNames[kNumColumns] = {"user",  "item", "type",
                                                        "value", "ts",   "id"};
constexpr std::string_view kItemFields = "id, title, categories, tags, attributes, created";

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Splits "dir/events.jsonl.gz" into the stem "dir/events" and the extension "jsonl".
void SplitExtension(const std::string& path, std::string* stem, std::string* ext) {
  std::string_view p = path;
  if (p.size() > 3 && p.substr(p.size() - 3) == ".gz") {
    p.remove_suffix(3);
  }
  const size_t slash = p.find_last_of('/');
  const size_t dot = p.find_last_of('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    *stem = std::string(p);
    ext->clear();
    return;
  }
  *stem = std::string(p.substr(0, dot));
  *ext = std::string(p.substr(dot + 1));
}

// Integer milliseconds or ISO-8601 (the forms JSON Lines accepts: event_json.cc). A number is
// an optional '-' and digits only: "2023-11-14" is a date, not an integer.
Result<TimestampMs> ParseTimestamp(std::string_view text, std::string_view field) {
  const std::string_view digits = !text.empty() && text[0] == '-' ? text.substr(1) : text;
  const bool integer =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  Result<TimestampMs> ts = integer ? base::ParseInt64(text) : base::ParseIso8601(text);
  if (!ts.ok()) {
    return FieldError(field, ts.status().message());
  }
  if (integer && field == "ts") {
    FLYWHEEL_RETURN_IF_ERROR(CheckNumericTsMs(*ts, field));
  }
  return ts;
}

Status ReadStringArray(const Json& value, std::string_view field, std::vector<std::string>* out) {
  if (!value.is_array()) {
    return FieldError(field, "expected an array of strings");
  }
  for (const Json& element : value) {
    if (!element.is_string()) {
      return FieldError(field, "expected an array of strings");
    }
    AppendUnique(out, element.get_ref<const std::string&>());
  }
  return Status::Ok();
}

Status ReadAttributes(const Json& value, KeyValues* out) {
  if (!value.is_object()) {
    return FieldError("attributes", "expected an object");
  }
  for (const auto& [key, v] : value.items()) {
    if (v.is_string()) {
      out->emplace_back(key, v.get<std::string>());
    } else if (v.is_number() || v.is_boolean()) {
      out->emplace_back(key, v.dump());
    } else {
      return FieldError("attributes", "value of '" + key + "' is not a string, number or bool");
    }
  }
  return Status::Ok();
}

Status ReadCreated(const Json& value, TimestampMs* out) {
  if (value.is_number_integer()) {
    *out = value.get<int64_t>();
    return Status::Ok();
  }
  if (!value.is_string()) {
    return FieldError("created", "expected integer milliseconds or an ISO-8601 string");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(*out, ParseTimestamp(value.get_ref<const std::string&>(), "created"));
  return Status::Ok();
}

Status ReadItemField(const std::string& key, const Json& value, Item* item) {
  if (key == "id" || key == "title") {
    if (!value.is_string()) {
      return FieldError(key, "expected a string");
    }
    (key == "id" ? item->id : item->title) = value.get<std::string>();
    return Status::Ok();
  }
  if (key == "categories" || key == "tags") {
    return ReadStringArray(value, key, key == "tags" ? &item->tags : &item->categories);
  }
  if (key == "attributes") {
    return ReadAttributes(value, &item->attributes);
  }
  if (key == "created") {
    return ReadCreated(value, &item->created_ms);
  }
  return FieldError(key, "unknown field (allowed: " + std::string(kItemFields) + ")");
}

// Parses one line of an items file.
Status ParseItemJson(std::string_view text, Item* item) {
  try {
    const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
      return FieldError("json", "not a JSON object");
    }
    for (const auto& [key, value] : json.items()) {
      FLYWHEEL_RETURN_IF_ERROR(ReadItemField(key, value, item));
    }
  } catch (const Json::exception& e) {
    return FieldError("json", e.what());
  }
  if (item->id.empty() || !base::IsValidUtf8(item->id)) {
    return FieldError("id", "missing, empty or not UTF-8");
  }
  return Status::Ok();
}

class EventsFileReader final : public LineEventReader {
 public:
  EventsFileReader(std::unique_ptr<LineReader> lines, const EventTypeTable& types, bool json,
                   SkipPolicy skip)
      : LineEventReader(std::move(lines), skip), types_(types), json_(json) {}

  // Reads the CSV header (CSV files) and the items file when it exists.
  Status Init(const std::string& items_path);

 protected:
  Result<bool> ParseLine(std::string_view line, Event* event) override;

 private:
  Status ParseHeader(std::string_view header);
  Status ParseCsvEvent(std::string_view line, Event* event);

  EventTypeTable types_;
  bool json_;
  int columns_[kNumColumns] = {-1, -1, -1, -1, -1, -1};  // index of each column, -1 when absent
  size_t num_columns_ = 0;
  std::vector<std::string> fields_;
};

Status EventsFileReader::Init(const std::string& items_path) {
  if (!json_) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::string header, ReadHeader());
    Status status = ParseHeader(header);
    if (!status.ok()) {
      return status.WithPrefix("data: " + lines().name() + ":1");
    }
  }
  if (!IsFile(items_path)) {
    return Status::Ok();
  }
  return ForEachLine(items_path, "", &guard(), [&](std::string_view line, int64_t) {
    if (base::Trim(line).empty() || line.front() == '#') {
      return Status::Ok();
    }
    Item item;
    FLYWHEEL_RETURN_IF_ERROR(ParseItemJson(line, &item));
    mutable_items().push_back(std::move(item));
    return Status::Ok();
  });
}

Status EventsFileReader::ParseHeader(std::string_view header) {
  FLYWHEEL_RETURN_IF_ERROR(SplitCsvLine(header, ',', &fields_));
  num_columns_ = fields_.size();
  for (size_t i = 0; i < fields_.size(); ++i) {
    const std::string_view name = base::Trim(fields_[i]);
    int column = -1;
    for (int c = 0; c < kNumColumns; ++c) {
      if (name == kColumnNames[c]) {
        column = c;
      }
    }
    if (column < 0) {
      return FieldError("header", "unknown column '" + std::string(name) +
                                      "' (allowed: user, item, type, value, ts, id)");
    }
    if (columns_[column] >= 0) {
      return FieldError("header", "duplicate column '" + std::string(name) + "'");
    }
    columns_[column] = static_cast<int>(i);
  }
  for (int c : {kUser, kItem, kType, kTs}) {
    if (columns_[c] < 0) {
      return FieldError("header", "missing column '" + std::string(kColumnNames[c]) + "'");
    }
  }
  return Status::Ok();
}

Status EventsFileReader::ParseCsvEvent(std::string_view line, Event* event) {
  if (Status s = SplitCsvLine(line, ',', &fields_); !s.ok()) {
    return FieldError("columns", s.message());
  }
  FLYWHEEL_RETURN_IF_ERROR(CheckColumns(fields_.size(), num_columns_));
  event->user = fields_[columns_[kUser]];
  event->item = fields_[columns_[kItem]];
  event->type = fields_[columns_[kType]];
  event->value = 1.0;
  if (columns_[kValue] >= 0 && !fields_[columns_[kValue]].empty()) {
    FLYWHEEL_ASSIGN_OR_RETURN(event->value, ParseNumberField(fields_[columns_[kValue]], "value"));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(event->ts_ms, ParseTimestamp(fields_[columns_[kTs]], "ts"));
  event->id.clear();
  if (columns_[kId] >= 0) {
    event->id = fields_[columns_[kId]];
  }
  event->context.clear();
  return ValidateEvent(*event, types_);
}

Result<bool> EventsFileReader::ParseLine(std::string_view line, Event* event) {
  if (!json_) {
    FLYWHEEL_RETURN_IF_ERROR(ParseCsvEvent(line, event));
    return true;
  }
  const std::string_view trimmed = base::Trim(line);
  if (trimmed.empty() || trimmed.front() == '#') {
    return false;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(*event, ParseEventJson(trimmed, types_));
  return true;
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenEventsFile(const std::string& path,
                                                    const EventTypeTable& types, SkipPolicy skip) {
  std::string stem;
  std::string ext;
  SplitExtension(path, &stem, &ext);
  const bool json = ext == "jsonl" || ext == "ndjson" || ext == "json";
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(path));
  auto reader = std::make_unique<EventsFileReader>(std::move(lines), types, json, skip);
  FLYWHEEL_RETURN_IF_ERROR(reader->Init(stem + ".items.jsonl"));
  return std::unique_ptr<EventReader>(std::move(reader));
}

}  // namespace flywheel::data
