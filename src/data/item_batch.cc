#include "data/item_batch.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>

#include "base/strings.h"
#include "data/catalog_json.h"
#include "data/csv.h"
#include "data/line_reader.h"

namespace flywheel::data {
namespace {

using nlohmann::json;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "item: field 'title': too long" -> "too long" (the field is reported separately).
std::string ShortMessage(const Status& status) {
  const std::string& m = status.message();
  const std::string prefix = "item: field '" + status.field() + "': ";
  if (!status.field().empty() && m.rfind(prefix, 0) == 0) {
    return m.substr(prefix.size());
  }
  return m;
}

// Collects the bad lines of one file as "FILE:LINE:field: message".
class ErrorList {
 public:
  ErrorList(std::string path, std::vector<std::string>* out) : path_(std::move(path)), out_(out) {}
  void Add(int64_t line, const std::string& field, const std::string& message) {
    ++count_;
    if (out_->size() < kMaxReportedErrors) {
      out_->push_back(path_ + ":" + std::to_string(line) + ":" +
                      (field.empty() ? "" : field + ":") + " " + message);
    }
  }
  void Add(int64_t line, const Status& status) { Add(line, status.field(), ShortMessage(status)); }
  void Finish() {
    if (count_ > out_->size()) {
      out_->push_back(path_ + ": " + std::to_string(count_ - out_->size()) +
                      " more bad lines not shown");
    }
  }

 private:
  std::string path_;
  std::vector<std::string>* out_;
  size_t count_ = 0;
};

// Remembers ids and their first line; reports a repeated one.
class SeenIds {
 public:
  // Empty when new, else the message for a repeat.
  std::string Check(const std::string& id, int64_t line) {
    auto [it, inserted] = first_.emplace(id, line);
    if (inserted) {
      return "";
    }
    return "duplicate id '" + id.substr(0, 64) + "' (first on line " + std::to_string(it->second) +
           ")";
  }

 private:
  std::unordered_map<std::string, int64_t> first_;
};

std::vector<std::string> SplitList(std::string_view cell) {
  std::vector<std::string> out;
  if (base::Trim(cell).empty()) {
    return out;
  }
  for (std::string_view part : base::Split(cell, ';')) {
    out.emplace_back(base::Trim(part));
  }
  return out;
}

// The CSV header: the column index of each known field, the others are attributes.
struct CsvColumns {
  std::vector<std::string> names;
  size_t id = 0;
};

Result<CsvColumns> ParseHeader(const std::string& path, std::string_view line) {
  std::vector<std::string> fields;
  FLYWHEEL_RETURN_IF_ERROR(SplitCsvLine(line, ',', &fields).WithPrefix(path + ":1"));
  CsvColumns columns;
  bool has_id = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string name(base::Trim(fields[i]));
    if (name.empty()) {
      return Status::InvalidArgument(path + ":1: column " + std::to_string(i + 1) + " has no name");
    }
    if (!base::IsValidUtf8(name)) {
      return Status::InvalidArgument(path + ":1: column " + std::to_string(i + 1) +
                                     ": name is not valid UTF-8");
    }
    if (std::find(columns.names.begin(), columns.names.end(), name) != columns.names.end()) {
      return Status::InvalidArgument(path + ":1: column '" + name + "' appears twice");
    }
    if (name == "id") {
      columns.id = i;
      has_id = true;
    }
    columns.names.push_back(std::move(name));
  }
  if (!has_id) {
    return Status::InvalidArgument(path +
                                   ":1: the header has no 'id' column (expected "
                                   "id,title,categories,tags,created,<attribute>...)");
  }
  return columns;
}

// The JSON item of one CSV row (so that CSV and JSON share ParseItemJson's rules).
json CsvRowToJson(const CsvColumns& columns, const std::vector<std::string>& cells) {
  json item = json::object();
  json attributes = json::object();
  for (size_t i = 0; i < cells.size(); ++i) {
    const std::string& name = columns.names[i];
    const std::string& cell = cells[i];
    if (name == "id") {
      item["id"] = cell;
    } else if (name == "title") {
      item["title"] = cell;
    } else if (name == "categories" || name == "tags") {
      item[name] = SplitList(cell);
    } else if (name == "created") {
      if (cell.empty()) {
        continue;
      }
      const bool digits =
          std::all_of(cell.begin(), cell.end(), [](char c) { return c >= '0' && c <= '9'; });
      item["created"] = digits && cell.size() <= 18 ? json(std::stoll(cell)) : json(cell);
    } else if (!cell.empty()) {
      attributes[name] = cell;
    }
  }
  if (!attributes.empty()) {
    item["attributes"] = std::move(attributes);
  }
  return item;
}

// The index of the first cell that is not valid UTF-8 (a JSON string cannot hold it), or
// cells.size().
size_t FirstNonUtf8(const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!base::IsValidUtf8(cells[i])) {
      return i;
    }
  }
  return cells.size();
}

// Appends the item of `object` (from line `n`) to `out`, or records why it is bad.
void AddItem(const json& object, int64_t n, SeenIds* seen, CatalogFile* out, ErrorList* errors) {
  Result<Item> item = ItemFromJson(object);
  if (!item.ok()) {
    errors->Add(n, item.status());
    return;
  }
  if (std::string dup = seen->Check(item->id, n); !dup.empty()) {
    errors->Add(n, "id", dup);
    return;
  }
  out->items.push_back(std::move(item).value());
}

Status ReadCsv(LineReader* reader, const std::string& path, CatalogFile* out, ErrorList* errors) {
  std::string line;
  FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
  if (!got) {
    return Status::InvalidArgument(path + ": empty file (expected a CSV header line)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(CsvColumns columns, ParseHeader(path, base::StripCr(line)));
  SeenIds seen;
  std::vector<std::string> cells;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(got, reader->ReadLine(&line));
    if (!got) {
      return Status::Ok();
    }
    const int64_t n = reader->line_number();
    const std::string_view text = base::StripCr(line);
    if (base::Trim(text).empty()) {
      continue;
    }
    Status split = SplitCsvLine(text, ',', &cells);
    if (!split.ok()) {
      errors->Add(n, "", split.message());
      continue;
    }
    if (cells.size() != columns.names.size()) {
      errors->Add(n, "",
                  "expected " + std::to_string(columns.names.size()) + " fields, got " +
                      std::to_string(cells.size()));
      continue;
    }
    if (const size_t bad = FirstNonUtf8(cells); bad < cells.size()) {
      errors->Add(n, columns.names[bad], "not valid UTF-8");
      continue;
    }
    AddItem(CsvRowToJson(columns, cells), n, &seen, out, errors);
  }
}

Status ReadJsonLines(LineReader* reader, CatalogFile* out, ErrorList* errors) {
  SeenIds seen;
  std::string line;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
    if (!got) {
      return Status::Ok();
    }
    const int64_t n = reader->line_number();
    if (base::Trim(line).empty()) {
      continue;
    }
    const json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      errors->Add(n, "", "not valid JSON");
      continue;
    }
    AddItem(doc, n, &seen, out, errors);
  }
}

}  // namespace

Result<Item> ItemFromJson(const json& object) {
  if (!object.is_object()) {
    return Status::InvalidArgument("item: expected a JSON object");
  }
  const auto id = object.find("id");
  if (id == object.end() || !id->is_string()) {
    return Status::InvalidArgument("item: field 'id': required, a string").WithField("id");
  }
  json body = object;
  body.erase("id");
  std::string text;
  try {
    text = body.dump();
  } catch (const json::type_error&) {  // a string built in memory that is not UTF-8
    return Status::InvalidArgument("item: a string is not valid UTF-8");
  }
  return ParseItemJson(id->get<std::string>(), text);
}

std::vector<ItemError> ItemBatchErrors(std::span<const Item> items) {
  std::vector<ItemError> errors;
  std::unordered_map<std::string_view, size_t> first;
  first.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    Status st = ValidateItem(items[i]);
    if (!st.ok()) {
      errors.push_back({i, st.field(), st.message()});
      continue;
    }
    auto [it, inserted] = first.emplace(items[i].id, i);
    if (!inserted) {
      errors.push_back({i, "id",
                        "duplicate id '" + items[i].id.substr(0, 64) + "' (also items[" +
                            std::to_string(it->second) + "])"});
    }
  }
  return errors;
}

Result<CatalogFile> ReadCatalogFile(const std::string& path) {
  std::string_view name = path;
  if (EndsWith(name, ".gz")) {
    name.remove_suffix(3);
  }
  const bool csv = EndsWith(name, ".csv");
  if (!csv && !EndsWith(name, ".jsonl") && !EndsWith(name, ".ndjson")) {
    return Status::InvalidArgument("import: " + path +
                                   ": unknown catalogue format (expected .csv or .jsonl)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  CatalogFile out;
  ErrorList errors(path, &out.errors);
  FLYWHEEL_RETURN_IF_ERROR(csv ? ReadCsv(reader.get(), path, &out, &errors)
                               : ReadJsonLines(reader.get(), &out, &errors));
  errors.Finish();
  return out;
}

}  // namespace flywheel::data
