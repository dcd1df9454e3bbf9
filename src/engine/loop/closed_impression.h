// ClosedImpression: an impression whose attribution window has passed, with what each shown item
// earned (doc/loop.md, "Attribution and rewards"). The Attributor (attribution.h) produces them
// in log order on the learner thread and hands them to its ImpressionListeners: the metrics, the
// ImpressionLearner (negatives for the models) and the RewardRanker.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flywheel/types.h"

namespace flywheel::engine {

struct ClosedSlot {
  ItemIdx item = kNoItem;  // dense index (kNoItem: an item deleted since, or unknown)
  uint32_t position = 0;
  double propensity = 1.0;  // NaN: unknown (explicit list)
  double step = 1.0;
  double reward = 0.0;        // the summed reward weights of the attributed events, or the default
  bool clicked = false;       // an attributed event with a positive weight
  int64_t first_lag_ms = -1;  // event time of the first attributed event minus ts_ms; -1: none
};

struct ClosedImpression {
  UserIdx user = kNoUser;  // dense index of the user (a forgotten user's lists never close)
  std::string recommendation_id;
  TimestampMs ts_ms = 0;
  std::string policy;
  std::string model;
  uint64_t model_version = 0;
  uint64_t seq = 0;  // the `$impression` record's sequence number
  std::vector<ClosedSlot> slots;
};

// Receives closed impressions (learner thread, state lock held exclusively, in log order).
class ImpressionListener {
 public:
  virtual ~ImpressionListener() = default;
  virtual void OnClosed(const ClosedImpression& closed) = 0;
};

}  // namespace flywheel::engine
