// Taobao UserBehavior reader: "user,item,category,behavior,ts" lines, no header, behavior in
// {pv, cart, fav, buy} mapped to click, cart, fav, purchase; value 1; ts seconds -> ms.
//
// Items (one per distinct item, categories = {its category id}, first seen) must be known when
// the reader is opened, so Open makes one pass over the file to collect them (memory grows with
// the number of items, not events); malformed lines are ignored in that pass and reported (or
// skipped under the policy) when the events are streamed in the second pass.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sys/stat.h>

#include "base/strings.h"
#include "data/dataset.h"
#include "data/reader_common.h"

namespace flywheel::data {
namespace {

// The event type of a behavior, or "" when unknown.
std::string_view MapBehavior(std::string_view behavior) {
  if (behavior == "pv") {
    return "click";
  }
  if (behavior == "cart") {
    return "cart";
  }
  if (behavior == "fav") {
    return "fav";
  }
  if (behavior == "buy") {
    return "purchase";
  }
  return "";
}

// Parses one line (split into *fields) into *event.
Status ParseTaobaoLine(std::string_view line, std::vector<std::string_view>* fields, Event* event) {
  base::SplitInto(line, ',', fields);
  const std::vector<std::string_view>& f = *fields;
  FLYWHEEL_RETURN_IF_ERROR(CheckColumns(f.size(), 5));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[0], "user"));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[1], "item"));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[2], "category"));
  const std::string_view type = MapBehavior(f[3]);
  if (type.empty()) {
    return FieldError("behavior",
                      "unknown behavior '" + std::string(f[3]) + "' (expected pv, cart, fav, buy)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const TimestampMs ts_ms, ParseSecondsField(f[4], "timestamp"));
  event->user.assign(f[0]);
  event->item.assign(f[1]);
  event->type.assign(type);
  event->value = 1.0;
  event->ts_ms = ts_ms;
  event->id.clear();
  event->context.clear();
  return Status::Ok();
}

class TaobaoReader final : public LineEventReader {
 public:
  using LineEventReader::LineEventReader;

  // First pass: collects the items and their categories.
  Status LoadItems(const std::string& path);

  std::vector<std::string> notes() const override {
    return {
        "Taobao behaviors mapped to event types: pv -> click, cart -> cart, fav -> fav, "
        "buy -> purchase"};
  }

 protected:
  Result<bool> ParseLine(std::string_view line, Event* event) override {
    FLYWHEEL_RETURN_IF_ERROR(ParseTaobaoLine(line, &fields_, event));
    return true;
  }

 private:
  std::vector<std::string_view> fields_;
};

Status TaobaoReader::LoadItems(const std::string& path) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  std::unordered_map<std::string, size_t> index;
  std::string line;
  Event event;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
    if (!got) {
      return Status::Ok();
    }
    if (!ParseTaobaoLine(base::StripCr(line), &fields_, &event).ok()) {
      continue;
    }
    if (index.emplace(event.item, mutable_items().size()).second) {
      Item& item = mutable_items().emplace_back();
      item.id = event.item;
      item.categories.emplace_back(fields_[2]);
    }
  }
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenTaobao(const std::string& path, SkipPolicy skip) {
  std::string file = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    file = path + "/UserBehavior.csv";
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(file));
  auto reader = std::make_unique<TaobaoReader>(std::move(lines), skip);
  FLYWHEEL_RETURN_IF_ERROR(reader->LoadItems(file));
  return std::unique_ptr<EventReader>(std::move(reader));
}

}  // namespace flywheel::data
