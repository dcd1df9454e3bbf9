// LoopOptions: impressions, attribution, exploration policies and learning from what was shown
// (doc/loop.md). Checked at Engine::Open (kInvalidArgument naming the field).
#pragma once
#include <cstdint>
#include <string>

namespace flywheel {

struct LoopOptions {
  // Outcomes are joined to an impression within this much event time after it was shown.
  int64_t attribution_window_ms = 30LL * 60 * 1000;
  // Reward of a shown item no event answered within the window.
  double default_reward = 0.0;
  // Memory bounds of the attributor: open lists per user, and shown items of all open lists
  // (about 60 bytes each). Beyond either, the oldest open list closes early (counted).
  size_t max_open_per_user = 100;
  size_t max_open_items = 2'000'000;
  // When no record arrives for this long (wall clock), the learner logs a `$impression.close`
  // record at the newest event time plus the idle time, closing the lists whose window passed
  // (doc/loop.md, "Closing"). 0: lists close only as event time advances.
  int64_t close_tick_ms = 1000;
  // Reward per event type: "type=weight[,type=weight...]" over the event type table's weights
  // (empty: the table's weights; a skip's negative weight counts).
  std::string reward_weights;
  // Served lists kept for impressions naming their recommendation id (also bounded by the
  // attribution window).
  size_t served_cache = 100'000;
  // Policy of requests that name none: "greedy", "epsilon:E", "boltzmann:T", "thompson:S",
  // "reward[+<policy>]", or experiment arms "<spec>@<share>,<spec>@<share>..." (shares sum to 1)
  // that users fall into by a hash of their id and experiment_salt.
  std::string policy = "greedy";
  std::string experiment_salt;
  // Nonce of the recommendation ids (0: drawn at open) and seed of the policies' sampling.
  uint64_t seed = 0;
  // Shown-and-ignored items become weighted negatives (models with ObserveNegatives).
  bool learn_from_impressions = true;
  double negative_weight = 0.5;
  // "pbm": examination per position estimated from the logs; "cascade": items below the last
  // click are not negatives; "none": every ignored item counts fully.
  std::string position_bias = "pbm";
  // Importance weights of the reward ranker and the estimators are capped here.
  double weight_cap = 20.0;
};

}  // namespace flywheel
