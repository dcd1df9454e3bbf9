#include "sim/report.h"

#include <algorithm>
#include <cstdio>

namespace flywheel::sim {
namespace {

constexpr double kHourMs = 3600.0 * 1000.0;

double PerRequest(double value, int64_t requests) {
  return requests > 0 ? value / static_cast<double>(requests) : 0.0;
}

}  // namespace

nlohmann::json PeriodStats::ToJson() const {
  nlohmann::json out = {
      {"requests", requests},
      {"failed_requests", failed_requests},
      {"shown", shown},
      {"clicks", clicks},
      {"purchases", purchases},
      {"lists_clicked", lists_clicked},
      {"ctr", ctr()},
      {"list_ctr", list_ctr()},
      {"reward", reward},
      {"reward_per_list", PerRequest(reward, requests)},
      {"expected_reward", expected_reward},
      {"oracle_expected_reward", oracle_expected_reward},
      {"regret", regret()},
      {"regret_per_list", PerRequest(regret(), requests)},
      {"distinct_shown", static_cast<int64_t>(distinct_shown.size())},
      {"catalogue", catalogue},
      {"coverage", coverage()},
      {"new_item_first_clicks", new_item_first_clicks},
  };
  if (day > 0) {
    out["day"] = day;
    out["new_items"] = new_items;
  }
  return out;
}

void FirstClickTracker::Arrived(int item, TimestampMs ts_ms) {
  if (item < 0) {
    return;
  }
  if (static_cast<size_t>(item) >= slot_.size()) {
    slot_.resize(item + 1, 0);
  }
  if (slot_[item] != 0) {
    return;
  }
  entries_.push_back({item, ts_ms, -1});
  slot_[item] = static_cast<int>(entries_.size());
}

bool FirstClickTracker::Clicked(int item, TimestampMs ts_ms) {
  if (item < 0 || static_cast<size_t>(item) >= slot_.size() || slot_[item] == 0) {
    return false;
  }
  Entry& entry = entries_[slot_[item] - 1];
  if (entry.first_click_ms >= 0) {
    entry.first_click_ms = std::min(entry.first_click_ms, ts_ms);
    return false;
  }
  entry.first_click_ms = ts_ms;
  return true;
}

FirstClickTracker::Summary FirstClickTracker::Summarise(TimestampMs end_ms) const {
  Summary s;
  std::vector<double> hours;
  double clicked_sum = 0;
  for (const Entry& e : entries_) {
    ++s.items;
    double h = 0;
    if (e.first_click_ms >= 0) {
      ++s.clicked;
      h = static_cast<double>(e.first_click_ms - e.arrived_ms) / kHourMs;
      clicked_sum += h;
    } else {
      ++s.never_clicked;
      h = static_cast<double>(std::max<TimestampMs>(0, end_ms - e.arrived_ms)) / kHourMs;
    }
    hours.push_back(h);
  }
  if (!hours.empty()) {
    double sum = 0;
    for (double h : hours) {
      sum += h;
    }
    s.mean_hours = sum / static_cast<double>(hours.size());
    std::sort(hours.begin(), hours.end());
    const size_t n = hours.size();
    s.median_hours = n % 2 == 1 ? hours[n / 2] : 0.5 * (hours[n / 2 - 1] + hours[n / 2]);
  }
  s.mean_hours_clicked = s.clicked > 0 ? clicked_sum / static_cast<double>(s.clicked) : 0.0;
  return s;
}

nlohmann::json SummaryToJson(const FirstClickTracker::Summary& s) {
  return {{"new_items", s.items},
          {"clicked", s.clicked},
          {"never_clicked", s.never_clicked},
          {"mean_hours", s.mean_hours},
          {"median_hours", s.median_hours},
          {"mean_hours_clicked", s.mean_hours_clicked}};
}

nlohmann::json Report::ToJson(bool timing) const {
  nlohmann::json out;
  out["config"] = config;
  out["days"] = nlohmann::json::array();
  for (const PeriodStats& day : days) {
    out["days"].push_back(day.ToJson());
  }
  out["overall"] = overall.ToJson();
  out["new_item_time_to_first_click"] = SummaryToJson(first_click);
  out["target"] = target;
  if (!counterfactual.is_null()) {
    out["counterfactual"] = counterfactual;
  }
  if (timing) {
    out["wall_seconds"] = wall_seconds;
    out["recommend_ms"] = recommend_ms;
  }
  return out;
}

std::string Report::Table() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%5s %8s %7s %8s %9s %8s %9s %8s %6s %6s\n", "day", "requests",
                "ctr", "list_ctr", "reward/l", "coverage", "regret/l", "catalog", "new", "first");
  out += line;
  auto row = [&](const PeriodStats& s, const std::string& label) {
    std::snprintf(line, sizeof(line), "%5s %8lld %7.4f %8.4f %9.4f %8.4f %9.4f %8lld %6lld %6lld\n",
                  label.c_str(), static_cast<long long>(s.requests), s.ctr(), s.list_ctr(),
                  PerRequest(s.reward, s.requests), s.coverage(),
                  PerRequest(s.regret(), s.requests), static_cast<long long>(s.catalogue),
                  static_cast<long long>(s.new_items),
                  static_cast<long long>(s.new_item_first_clicks));
    out += line;
  };
  for (const PeriodStats& day : days) {
    row(day, std::to_string(day.day));
  }
  PeriodStats all = overall;
  all.new_items = first_click.items;
  row(all, "all");
  std::snprintf(line, sizeof(line),
                "new items: %lld, clicked %lld, never %lld; time to first click (h): mean %.2f, "
                "median %.2f (never-clicked counted to the end)\n",
                static_cast<long long>(first_click.items),
                static_cast<long long>(first_click.clicked),
                static_cast<long long>(first_click.never_clicked), first_click.mean_hours,
                first_click.median_hours);
  out += line;
  return out;
}

}  // namespace flywheel::sim
