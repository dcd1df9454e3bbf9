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

// Impressions and what they earned (EngineStats::impressions, `/v1/stats` "impressions",
// `/metrics` flywheel_impression*; doc/loop.md, "Attribution and rewards"). Counted by the
// learner in log order and kept in snapshots: totals over the data directory's life (a replay
// after a crash counts nothing twice).
struct ImpressionStats {
  uint64_t recorded = 0;       // `$impression` records applied (duplicates excluded)
  uint64_t duplicates = 0;     // records naming a recommendation id already open or just closed
  uint64_t bad_records = 0;    // `$impression` records that did not decode (skipped)
  uint64_t items_shown = 0;    // items of the recorded lists
  uint64_t unknown_items = 0;  // of them, ids unknown to the engine when applied (never matched)
  uint64_t open = 0;           // lists whose attribution window has not passed
  uint64_t open_items = 0;
  uint64_t closed = 0;        // lists closed (window passed, or early)
  uint64_t closed_early = 0;  // closed before their window by the memory bounds
  uint64_t clicked = 0;       // closed lists with a clicked item (an event with a positive reward)
  double reward_sum = 0;      // rewards of the closed lists' items (default reward included)
  uint64_t attributed = 0;    // events attributed to a shown item
  // Events not attributed, by reason: naming a recommendation id no open list of the user has
  // (never recorded, another user's, forgotten); naming a list closed before the event arrived;
  // on an item no open list of the user showed (organic events included).
  uint64_t unknown_recommendation = 0;
  uint64_t window_passed = 0;
  uint64_t not_shown = 0;
  // Per position of the closed lists: 0..9, then 10 and beyond (kPositionBuckets entries).
  static constexpr size_t kPositionBuckets = 11;
  struct Position {
    uint64_t shown = 0;
    uint64_t clicked = 0;
    double reward = 0;
  };
  std::vector<Position> positions = std::vector<Position>(kPositionBuckets);
  // Attribution lag (event time minus the list's time) of the attributed events: counts per
  // bucket, bucket i holding lags <= lag_bounds_ms[i] (the last bucket: beyond the last bound).
  std::vector<int64_t> lag_bounds_ms;
  std::vector<uint64_t> lag_counts;
  double lag_sum_ms = 0;
};

}  // namespace flywheel
