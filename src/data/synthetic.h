// The synthetic event stream: the embedded default dataset for the demo, tests and scale
// benchmarks. Deterministic by seed (the same options give a byte-identical event sequence on
// every platform); generated lazily: memory is O(users + items), independent of the number of
// events, and each event costs O(log items), so 100M+ events stream without being stored.
//
// Model of the world:
//  - items "i<N>" (N = 0 .. items-1) belong to latent taste clusters (balanced sizes); each item
//    has a Zipf popularity rank (exponent `zipf`) within the whole catalogue; a share of items
//    (`new_item_fraction`, the highest ids) is not available at the start and arrives uniformly
//    over the expected time span of the stream (Item::created_ms, non-decreasing in N). Each
//    item's metadata is known from its creation: title "Item <N>", categories {"c<cluster>"}
//    (sometimes plus a neighbouring cluster's category), two to four tags "t<k>" mostly from its
//    cluster's tag block, attributes "year" (1950..2024) and "price_bucket"
//    (low/mid/high/premium);
//  - users "u<N>" (N = 0 .. users-1) have heavy-tailed activity and a mixture over clusters: one
//    or two dominant clusters take 80% of their choices, the rest follows cluster popularity.
//    Users act in sessions (geometric length, mean `mean_session_length`); up to 16 sessions
//    are open at once and the stream interleaves them. Within a session consecutive items tend
//    to stay in one cluster, items are drawn by popularity within the cluster (avoiding the
//    user's last few items), and with some probability the next item is the fixed "follow-up"
//    of the previous one (a successor chosen once per item within its cluster), which gives
//    sequence models and item-item co-occurrence something to learn;
//  - at the given drift points (fractions of the event count) a share of users
//    (`drift_user_fraction`) get a new dominant cluster;
//  - event types: mostly view and click, some cart, fewer purchase (cart and purchase are more
//    likely for items in the user's dominant clusters), and rare skip for items outside them;
//  - timestamps start at start_ms and advance by exponential gaps (mean `mean_gap_seconds`,
//    millisecond resolution, ties possible): events come out in non-decreasing time order.
//
// Spec parameters (synthetic:key=value,...): users, items, events, seed, clusters, zipf,
// session, new_items, drift (colon-separated fractions, e.g. drift=0.5:0.8, or "none"),
// drift_users, start (ISO-8601 date), gap (seconds).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/types.h"

#include "data/event_reader.h"

namespace flywheel::data {

struct SyntheticOptions {
  int64_t users = 1000;     // >= 1
  int64_t items = 2000;     // >= 1
  int64_t events = 100000;  // >= 0
  uint64_t seed = 42;
  int clusters = 16;                     // 1 .. items (unset in a spec: min(16, items))
  double zipf = 1.0;                     // popularity exponent, >= 0
  double mean_session_length = 8.0;      // events per session, >= 1
  double new_item_fraction = 0.2;        // items arriving over the stream, in [0, 1]
  std::vector<double> drift_at = {0.5};  // stream fractions where taste drift happens, in [0, 1]
  double drift_user_fraction = 0.3;      // share of users who drift at each point, in [0, 1]
  TimestampMs start_ms = 1700000000000;
  double mean_gap_seconds = 30.0;  // mean time between consecutive events in the stream, >= 0

  // From spec parameters; unknown keys or bad values are kInvalidArgument naming the key (and,
  // for an unknown key, listing the allowed ones). Unset keys keep the defaults above.
  static Result<SyntheticOptions> FromParams(const std::map<std::string, std::string>& params);
};

// Opens the generator. Options out of the ranges noted above are kInvalidArgument.
// The reader's items() lists every item, including those created after start_ms (built on the
// first call to items()); consumers must not use an item before its created_ms. The stream
// itself never mentions an item before its created_ms. At least one item exists at the start
// (new_item_fraction = 1 leaves item i0 available from start_ms).
Result<std::unique_ptr<EventReader>> OpenSynthetic(const SyntheticOptions& options);

}  // namespace flywheel::data
