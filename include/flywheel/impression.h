// Impressions: what Flywheel showed a user, with the probabilities the showing policy gave each
// item (doc/loop.md). Logged as `$impression` control records (doc/formats/event_log.md,
// "Impression records"), attributed to the user's later events by the learner.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "flywheel/types.h"

namespace flywheel {

inline constexpr double kUnknownPropensity = std::numeric_limits<double>::quiet_NaN();

// One item of a shown list.
struct ShownItem {
  std::string item;       // external id
  uint32_t position = 0;  // 0-based slot in the list as served (a partly shown list keeps them)
  // P(the policy shows this item at this slot): the marginal item-position probability (exact,
  // or the estimator doc/loop.md names for the policy). NaN: unknown (an explicit list).
  double propensity = kUnknownPropensity;
  // P(this item at this slot | the items above it): exact; the product over a list is the
  // list's probability. NaN: unknown.
  double step = kUnknownPropensity;
};

// One list shown to one user.
struct Impression {
  std::string user;
  std::string recommendation_id;  // empty: an explicit list recorded without one
  TimestampMs ts_ms = 0;          // when it was shown
  std::string policy;             // canonical policy spec ("greedy", "epsilon:0.1"); empty unknown
  std::string model;              // the ranking model's name; empty unknown
  uint64_t model_version = 0;     // applied sequence number of the state that ranked it; 0 unknown
  std::vector<ShownItem> items;   // positions strictly increasing
};

// What a client says it showed (Engine::RecordImpression).
struct ImpressionInput {
  std::string user;
  // A list this engine served (RecommendResult::recommendation_id): its items, positions and
  // propensities are taken from the served-list cache.
  std::string recommendation_id;
  // Without a (cached) recommendation id: the explicit list, positions 0..n-1, propensities
  // unknown. With one: the shown subset of the served list (empty: all of it).
  std::vector<std::string> items;
  TimestampMs ts_ms =
      0;  // when shown; 0: the served list's request time, else the newest event time
};

struct ImpressionResult {
  uint64_t seq = 0;         // the `$impression` record's sequence number (0 for a duplicate)
  bool duplicate = false;   // this recommendation id was recorded before: not logged again
  bool from_cache = false;  // the list came from the served-list cache (propensities known)
  size_t items = 0;         // items logged
};

}  // namespace flywheel
