// EventTypeTable: the configurable table of event types, their ids and learning weights.
//
// Each type has a weight (how strongly it signals interest; negative for skip/dislike) and a
// `positive` flag (whether an event of this type counts as a success in evaluation, e.g. a
// click or a purchase). Ratings are special: their weight is 1 and their positiveness is decided
// by the evaluation's rating threshold. The default table:
//   view 0.5, click 1, cart 3, fav 2, purchase 5 (alias buy), rating 1, like 2, share 3,
//   play 1, skip -0.5, dislike -2
// Not thread-safe for mutation; const methods may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/types.h"

namespace flywheel {

struct EventType {
  std::string name;
  EventTypeId id = 0;
  float weight = 1.0f;
  bool positive = true;
};

class EventTypeTable {
 public:
  // The default table described above.
  static EventTypeTable Default();

  // Parses overrides "name=weight[,name=weight...]" on top of the defaults; a new name adds a
  // type (positive when its weight > 0). Errors name the bad entry.
  static Result<EventTypeTable> Parse(std::string_view spec);

  // Adds a type or updates an existing one; returns its id.
  EventTypeId Set(std::string_view name, float weight, bool positive);
  // Adds `alias` as another name for the existing type `name`.
  Status AddAlias(std::string_view alias, std::string_view name);

  // kInvalidArgument "unknown event type 'x' (known: ...)" when absent.
  Result<EventTypeId> Find(std::string_view name) const;
  const EventType& type(EventTypeId id) const { return types_[id]; }
  size_t size() const { return types_.size(); }
  // Comma-separated list of names, for messages.
  std::string Names() const;

 private:
  std::vector<EventType> types_;
  std::vector<std::pair<std::string, EventTypeId>> aliases_;
};

}  // namespace flywheel
