#include "data/dataset.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "base/strings.h"
#include "data/event_json.h"
#include "data/synthetic.h"

namespace flywheel::data {

Result<DatasetSpec> ParseDatasetSpec(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument(
        "dataset: expected <kind>:<path or params> (kinds: movielens, taobao, lastfm, seqfile, "
        "events, "
        "synthetic), got '" +
        std::string(text) + "'");
  }
  DatasetSpec spec;
  spec.text = std::string(text);
  spec.kind = std::string(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  if (spec.kind == "synthetic") {
    for (std::string_view entry : base::Split(rest, ',')) {
      entry = base::Trim(entry);
      if (entry.empty()) {
        continue;
      }
      const size_t eq = entry.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return Status::InvalidArgument("dataset: synthetic parameter must be key=value, got '" +
                                       std::string(entry) + "'");
      }
      spec.params[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    return spec;
  }
  if (spec.kind != "movielens" && spec.kind != "taobao" && spec.kind != "lastfm" &&
      spec.kind != "seqfile" && spec.kind != "events") {
    return Status::InvalidArgument(
        "dataset: unknown kind '" + spec.kind +
        "' (kinds: movielens, taobao, lastfm, seqfile, events, synthetic)");
  }
  if (rest.empty()) {
    return Status::InvalidArgument("dataset: missing path after '" + spec.kind + ":'");
  }
  spec.path = std::string(rest);
  return spec;
}

Result<std::unique_ptr<EventReader>> OpenReader(const DatasetSpec& spec,
                                                const EventTypeTable& types, SkipPolicy skip) {
  if (spec.kind == "movielens") {
    return OpenMovieLens(spec.path, skip);
  }
  if (spec.kind == "taobao") {
    return OpenTaobao(spec.path, skip);
  }
  if (spec.kind == "lastfm") {
    return OpenLastfm(spec.path, skip);
  }
  if (spec.kind == "seqfile") {
    return OpenSeqFile(spec.path, skip);
  }
  if (spec.kind == "events") {
    return OpenEventsFile(spec.path, types, skip);
  }
  if (spec.kind == "synthetic") {
    FLYWHEEL_ASSIGN_OR_RETURN(SyntheticOptions options, SyntheticOptions::FromParams(spec.params));
    return OpenSynthetic(options);
  }
  return Status::InvalidArgument("dataset: unknown kind '" + spec.kind + "'");
}

namespace {

struct RawEvent {
  uint32_t user;
  uint32_t item;
  TimestampMs ts_ms;
  float value;
  EventTypeId type;
};

// Renumbers ids in order of first appearance in the (sorted) stream.
void Renumber(std::vector<RawEvent>& raw, const IdMap& raw_users, const IdMap& raw_items,
              Dataset* out) {
  std::vector<uint32_t> user_map(raw_users.size(), UINT32_MAX);
  std::vector<uint32_t> item_map(raw_items.size(), UINT32_MAX);
  out->events.reserve(raw.size());
  for (const RawEvent& e : raw) {
    if (user_map[e.user] == UINT32_MAX) {
      user_map[e.user] = out->users.GetOrAdd(raw_users.external(e.user));
    }
    if (item_map[e.item] == UINT32_MAX) {
      item_map[e.item] = out->items.GetOrAdd(raw_items.external(e.item));
    }
    data::Interaction x;
    x.user = user_map[e.user];
    x.item = item_map[e.item];
    x.ts_ms = e.ts_ms;
    x.value = e.value;
    x.type = e.type;
    x.weight = out->types.Weight(e.type, e.value);
    x.rating = out->types.IsRating(e.type);
    out->events.push_back(x);
  }
  out->num_items_with_events = static_cast<int64_t>(out->items.size());
}

}  // namespace

Result<Dataset> LoadDataset(EventReader& reader, const EventTypeTable& types, std::string name) {
  Dataset out;
  out.name = std::move(name);
  out.types = types;
  out.has_timestamps = reader.has_timestamps();
  out.default_positive = reader.default_positive();
  out.notes = reader.notes();

  IdMap raw_users;
  IdMap raw_items;
  std::vector<RawEvent> raw;
  Event event;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool more, reader.Next(&event));
    if (!more) {
      break;
    }
    auto type = types.Find(event.type);
    if (!type.ok()) {
      return type.status().WithPrefix(out.name + ": event " + std::to_string(raw.size() + 1));
    }
    raw.push_back(RawEvent{raw_users.GetOrAdd(event.user), raw_items.GetOrAdd(event.item),
                           event.ts_ms, static_cast<float>(event.value), *type});
  }
  if (!reader.time_ordered()) {
    std::stable_sort(raw.begin(), raw.end(),
                     [](const RawEvent& a, const RawEvent& b) { return a.ts_ms < b.ts_ms; });
  }
  Renumber(raw, raw_users, raw_items, &out);

  // Metadata: items with events keep their index; metadata-only items are appended.
  for (const Item& item : reader.items()) {
    out.items.GetOrAdd(item.id);
  }
  out.item_meta.resize(out.items.size());
  for (const Item& item : reader.items()) {
    out.item_meta[*out.items.Find(item.id)] = item;
  }
  out.stats = reader.stats();
  return out;
}

Result<Dataset> LoadDataset(std::string_view spec_text, const EventTypeTable& types,
                            SkipPolicy skip) {
  FLYWHEEL_ASSIGN_OR_RETURN(DatasetSpec spec, ParseDatasetSpec(spec_text));
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<EventReader> reader, OpenReader(spec, types, skip));
  return LoadDataset(*reader, types, spec.text);
}

}  // namespace flywheel::data
