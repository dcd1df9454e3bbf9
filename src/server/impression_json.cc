#include "server/impression_json.h"

#include <string>

namespace flywheel::server {

using nlohmann::json;

namespace {

// num / den, null when den is 0.
json Ratio(double num, uint64_t den) {
  return den > 0 ? json(num / static_cast<double>(den)) : json(nullptr);
}

}  // namespace

json ImpressionStatsJson(const ImpressionStats& s) {
  json positions = json::array();
  for (size_t i = 0; i < s.positions.size(); ++i) {
    const ImpressionStats::Position& p = s.positions[i];
    const bool last = i + 1 == s.positions.size();
    positions.push_back({{"position", std::to_string(i) + (last ? "+" : "")},
                         {"shown", p.shown},
                         {"clicked", p.clicked},
                         {"ctr", Ratio(static_cast<double>(p.clicked), p.shown)},
                         {"reward", p.reward},
                         {"reward_per_item", Ratio(p.reward, p.shown)}});
  }
  json buckets = json::array();
  uint64_t lagged = 0;
  for (size_t i = 0; i < s.lag_counts.size(); ++i) {
    lagged += s.lag_counts[i];
    buckets.push_back(
        {{"le_ms", i < s.lag_bounds_ms.size() ? json(s.lag_bounds_ms[i]) : json(nullptr)},
         {"count", s.lag_counts[i]}});
  }
  return {{"recorded", s.recorded},
          {"duplicates", s.duplicates},
          {"bad_records", s.bad_records},
          {"items_shown", s.items_shown},
          {"unknown_items", s.unknown_items},
          {"open", s.open},
          {"open_items", s.open_items},
          {"closed", s.closed},
          {"closed_early", s.closed_early},
          {"clicked", s.clicked},
          {"ctr", Ratio(static_cast<double>(s.clicked), s.closed)},
          {"reward_sum", s.reward_sum},
          {"reward_per_list", Ratio(s.reward_sum, s.closed)},
          {"attributed", s.attributed},
          {"unattributed",
           {{"unknown_recommendation", s.unknown_recommendation},
            {"window_passed", s.window_passed},
            {"not_shown", s.not_shown}}},
          {"positions", positions},
          {"attribution_lag_ms",
           {{"count", lagged}, {"mean", Ratio(s.lag_sum_ms, lagged)}, {"buckets", buckets}}}};
}

}  // namespace flywheel::server
