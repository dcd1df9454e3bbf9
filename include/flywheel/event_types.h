// EventTypeTable: the configurable table of event types, their ids and learning weights.
//
// Each type has a weight (how strongly it signals interest; negative for skip/dislike) and a
// `positive` flag (whether an event of this type counts as a success in evaluation, e.g. a
// click or a purchase). Ratings are special: a rating event's value is compared with the rating
// threshold (default 3.5 on a 5-point scale): at or above it the event weighs +weight (liked),
// below it a negative weight graded by the distance (disliked: negative feedback for learning,
// never a seed or a reason; see Weight()). Evaluation decides separately which ratings are
// successes (`rating>=4`). Default:
//   view 0.5, click 1, cart 3, fav 2, purchase 5 (alias buy), rating 1, like 2, share 3,
//   play 1, skip -0.5, dislike -2
// Not thread-safe for mutation; const methods may be called concurrently.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
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

  // The learning weight of an event of type `id` with value `value`: the type's weight, except
  // for a rating below the rating threshold, whose weight is negative (an aversion, not
  // interest) and graded by how far below it lies: -weight * min(1, (threshold - value) /
  // max(|threshold|, 1)); on a 5-point scale with threshold 3.5: 3 stars -0.14, 2 stars -0.43,
  // 1 star -0.71.
  float Weight(EventTypeId id, double value) const {
    const float w = types_[id].weight;
    if (id != rating_id_ || !(value < rating_threshold_)) {
      return w;
    }
    const double depth =
        std::min(1.0, (rating_threshold_ - value) / std::max(std::abs(rating_threshold_), 1.0));
    return -std::abs(w) * static_cast<float>(std::max(depth, 1e-3));
  }
  // Whether `id` is the explicit-rating type ("rating"): its value is a rating.
  bool IsRating(EventTypeId id) const { return id == rating_id_; }
  // Ratings below this value are negative feedback (default 3.5; 5-point scales). kInvalidArgument
  // when not finite.
  Status set_rating_threshold(double threshold);
  double rating_threshold() const { return rating_threshold_; }

  static constexpr double kDefaultRatingThreshold = 3.5;

 private:
  std::vector<EventType> types_;
  EventTypeId rating_id_ = std::numeric_limits<EventTypeId>::max();  // none until "rating" is set
  double rating_threshold_ = kDefaultRatingThreshold;
  std::vector<std::pair<std::string, EventTypeId>> aliases_;
};

}  // namespace flywheel
