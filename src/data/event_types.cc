#include "flywheel/event_types.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "base/strings.h"

namespace flywheel {

EventTypeTable EventTypeTable::Default() {
  EventTypeTable table;
  table.Set("view", 0.5f, true);
  table.Set("click", 1.0f, true);
  table.Set("cart", 3.0f, true);
  table.Set("fav", 2.0f, true);
  table.Set("purchase", 5.0f, true);
  table.Set("rating", 1.0f, true);
  table.Set("like", 2.0f, true);
  table.Set("share", 3.0f, true);
  table.Set("play", 1.0f, true);
  table.Set("skip", -0.5f, false);
  table.Set("dislike", -2.0f, false);
  (void)table.AddAlias("buy", "purchase");
  (void)table.AddAlias("pv", "click");
  (void)table.AddAlias("favorite", "fav");
  return table;
}

EventTypeId EventTypeTable::Set(std::string_view name, float weight, bool positive) {
  for (auto& type : types_) {
    if (type.name == name) {
      type.weight = weight;
      type.positive = positive;
      return type.id;
    }
  }
  const auto id = static_cast<EventTypeId>(types_.size());
  types_.push_back(EventType{std::string(name), id, weight, positive});
  if (name == "rating") {
    rating_id_ = id;
  }
  return id;
}

Status EventTypeTable::set_rating_threshold(double threshold) {
  if (!std::isfinite(threshold)) {
    return Status::InvalidArgument("event types: rating threshold must be a finite number");
  }
  rating_threshold_ = threshold;
  return Status::Ok();
}

Status EventTypeTable::AddAlias(std::string_view alias, std::string_view name) {
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeId id, Find(name));
  aliases_.emplace_back(std::string(alias), id);
  return Status::Ok();
}

Result<EventTypeId> EventTypeTable::Find(std::string_view name) const {
  for (const auto& type : types_) {
    if (type.name == name) {
      return type.id;
    }
  }
  for (const auto& [alias, id] : aliases_) {
    if (alias == name) {
      return id;
    }
  }
  return Status::InvalidArgument("unknown event type '" + std::string(name) +
                                 "' (known: " + Names() + ")");
}

std::string EventTypeTable::Names() const {
  std::string out;
  for (const auto& type : types_) {
    if (!out.empty()) {
      out += ", ";
    }
    out += type.name;
  }
  return out;
}

Result<EventTypeTable> EventTypeTable::Parse(std::string_view spec) {
  EventTypeTable table = Default();
  for (std::string_view entry : base::Split(spec, ',')) {
    entry = base::Trim(entry);
    if (entry.empty()) {
      continue;
    }
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("event types: expected name=weight, got '" +
                                     std::string(entry) + "'");
    }
    auto weight = base::ParseDouble(entry.substr(eq + 1));
    if (!weight.ok()) {
      return weight.status().WithPrefix("event types: weight of '" +
                                        std::string(entry.substr(0, eq)) + "'");
    }
    const std::string_view name = entry.substr(0, eq);
    auto existing = table.Find(name);
    const std::string canonical = existing.ok() ? table.type(*existing).name : std::string(name);
    const bool positive = existing.ok() ? table.type(*existing).positive : *weight > 0;
    table.Set(canonical, static_cast<float>(*weight), positive);
  }
  return table;
}

}  // namespace flywheel
