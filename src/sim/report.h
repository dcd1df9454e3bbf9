// The simulator's report (doc/simulate.md, "Report"): per simulated day and overall, the reward,
// click-through, coverage, new-item time to first click and regret against the oracle.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/types.h"

namespace flywheel::sim {

// Counters of one day (or of the whole run).
struct PeriodStats {
  int day = 0;  // 1-based; 0 for the whole run
  int64_t requests = 0;
  int64_t failed_requests = 0;  // the target answered an error: nothing shown
  int64_t shown = 0;            // items shown
  int64_t clicks = 0;
  int64_t purchases = 0;
  int64_t lists_clicked = 0;   // lists with at least one click
  double reward = 0;           // realised: click_weight per click + purchase_weight per purchase
  double expected_reward = 0;  // the shown lists' expected reward under the true model
  double oracle_expected_reward = 0;  // the oracle lists' expected reward, same users and times
  int64_t new_items = 0;              // items that arrived this day (0 for the run: see ttfc)
  int64_t new_item_first_clicks = 0;  // new items whose first click fell in the period
  int64_t catalogue = 0;              // items in the catalogue at the period's end
  std::unordered_set<int> distinct_shown;

  // Derived.
  double ctr() const {
    return shown > 0 ? static_cast<double>(clicks) / static_cast<double>(shown) : 0.0;
  }
  double list_ctr() const {
    return requests > 0 ? static_cast<double>(lists_clicked) / static_cast<double>(requests) : 0.0;
  }
  double coverage() const {
    return catalogue > 0
               ? static_cast<double>(distinct_shown.size()) / static_cast<double>(catalogue)
               : 0.0;
  }
  double regret() const { return oracle_expected_reward - expected_reward; }
  nlohmann::json ToJson() const;
};

// New items' time to first click, in simulated hours.
class FirstClickTracker {
 public:
  void Arrived(int item, TimestampMs ts_ms);
  // A click on `item` at `ts_ms`; returns true when it was the item's first one (items that did
  // not arrive through Arrived() are ignored and return false).
  bool Clicked(int item, TimestampMs ts_ms);

  struct Summary {
    int64_t items = 0;          // new items
    int64_t clicked = 0;        // with a first click
    int64_t never_clicked = 0;  // counted at the end of the run (censored: a lower bound)
    double mean_hours = 0;      // over all new items, never-clicked ones at end - arrival
    double median_hours = 0;
    double mean_hours_clicked = 0;  // over the clicked ones only
  };
  Summary Summarise(TimestampMs end_ms) const;

 private:
  struct Entry {
    int item = 0;
    TimestampMs arrived_ms = 0;
    TimestampMs first_click_ms = -1;
  };
  std::vector<Entry> entries_;
  std::vector<int> slot_;  // item -> index in entries_ + 1 (0: not a new item)
};

nlohmann::json SummaryToJson(const FirstClickTracker::Summary& summary);

struct Report {  // NOLINT(bugprone-exception-escape)
  nlohmann::json config;
  std::vector<PeriodStats> days;
  PeriodStats overall;
  FirstClickTracker::Summary first_click;
  nlohmann::json target;  // the target's counters
  double wall_seconds = 0;
  nlohmann::json recommend_ms;    // wall-clock latency of the target's Recommend calls
  nlohmann::json counterfactual;  // per counterfactual target (empty: none asked)

  // `timing`: include wall_seconds and recommend_ms (omit for byte-identical reports of the same
  // seed).
  nlohmann::json ToJson(bool timing) const;
  // The table printed on stdout.
  std::string Table() const;
};

}  // namespace flywheel::sim
