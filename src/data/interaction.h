// Interaction: the compact internal form of an Event after validation and id mapping.
// This is what models see (Recommender::Observe) and what the evaluation replays.
#pragma once

#include <cstdint>

#include "flywheel/types.h"

namespace flywheel::data {

struct Interaction {
  UserIdx user = 0;
  ItemIdx item = 0;
  TimestampMs ts_ms = 0;
  float value = 1.0f;   // the event's value (rating, play count...)
  float weight = 1.0f;  // EventTypeTable::Weight: the type's weight (negative: aversion, e.g. a
                        // rating below the rating threshold)
  EventTypeId type = 0;
  bool rating = false;  // an explicit rating: `value` is the rating (learned by rating regression)
};

}  // namespace flywheel::data
