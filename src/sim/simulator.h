// Simulator: plays a World's users against a SimTarget and reports the loop's value
// (doc/simulate.md). Single-threaded and deterministic: the same seed, world and target state
// give the same report. Independent random streams (arrivals, each request's clicks, each day's
// drift and new items) keep runs of different policies on common random numbers: the same users
// arrive at the same times whatever was shown to them.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flywheel/result.h"

#include "sim/report.h"
#include "sim/target.h"
#include "sim/world.h"

namespace flywheel::sim {

// The policy name the simulator serves itself: the oracle's lists (regret 0 by definition).
inline constexpr const char* kOraclePolicy = "oracle";
inline constexpr TimestampMs kDayMs = 86'400'000;

// A policy the simulator evaluates counterfactually at every request (the truth of off-policy
// evaluation, doc/simulate.md "Counterfactual truth"): the target's list is fetched (not shown,
// not recorded) and its expected reward under the true model accumulated.
struct CounterfactualTarget {
  std::string label;   // as given: "[model:]policy"
  std::string model;   // empty: the server's default
  std::string policy;  // a policy spec (doc/loop.md)
};

struct SimOptions {
  int days = 7;
  double requests_per_day = 1000;  // the Poisson arrival rate of requests
  int k = 10;
  std::string policy;  // sent with each request (empty: the server's); "oracle": see above
  uint64_t seed = 1;
  TimestampMs start_ms = 1'735'689'600'000;  // 2025-01-01T00:00:00Z: day 1 starts here
  int new_items_per_day = 0;
  int warmup_clicks = 5;  // organic clicks per user on the day before day 1
  // false: no impressions (lists not recorded, events without recommendation_id): the baseline
  // of the loop's overhead and of learning from positives only.
  bool record_impressions = true;
  bool record_in_call = false;  // RequestSpec::record_in_call
  double click_weight = 1.0;
  double purchase_weight = 5.0;
  std::vector<CounterfactualTarget> counterfactuals;
};

// Parses "[model:]policy": a head that is not a policy name is the model.
Result<CounterfactualTarget> ParseCounterfactual(const std::string& spec);

class Simulator {
 public:
  Simulator(SimOptions options, World world, SimTarget* target);

  // Runs the whole simulation: catalogue, warm-up, the days. An error of the target stops it.
  Result<Report> Run();

  // The oracle's list for `user` now: the k items of highest click probability (fatigue
  // included) among the catalogue minus the items the user clicked (what exclude_seen leaves).
  std::vector<int> OracleList(int user) const;
  const World& world() const { return world_; }

 private:
  Status PutItems(int first, int count);
  Status WarmUp();
  Status RunDay(int day, PeriodStats* stats);
  Status RunRequest(int64_t index, int user, TimestampMs now_ms, PeriodStats* stats);
  // The shown list as world indices (-1: an item the world does not know).
  Result<ServedList> FetchList(int user, TimestampMs now_ms, std::vector<int>* indices);
  std::vector<double> ClickProbs(int user, const std::vector<int>& indices) const;
  int ShownBefore(int user, int item) const;
  void Account(int user, const std::vector<int>& indices, const Session& session,
               TimestampMs now_ms, PeriodStats* stats);
  std::vector<Event> Outcomes(int64_t index, int user, const std::vector<int>& indices,
                              const Session& session, const ServedList& list,
                              TimestampMs now_ms) const;
  nlohmann::json ConfigJson() const;
  Status RunCounterfactuals(int user, TimestampMs now_ms, double reward_per_click);
  nlohmann::json CounterfactualJson() const;
  nlohmann::json CounterfactualLabels() const;

  struct CounterfactualSums {
    int64_t lists = 0;
    double expected_reward = 0;
    double expected_clicks = 0;
  };
  std::vector<CounterfactualSums> counterfactual_;  // one per options_.counterfactuals

  SimOptions options_;
  World world_;
  SimTarget* target_;
  std::unordered_map<uint64_t, int> shown_;       // (user << 32 | item) -> times shown
  std::vector<std::unordered_set<int>> clicked_;  // per user: items clicked (the seen set)
  FirstClickTracker first_click_;
  PeriodStats overall_;
  int64_t unknown_items_ = 0;
  std::vector<double> recommend_ms_;  // wall time of each target Recommend call
  int64_t next_request_ = 0;
};

}  // namespace flywheel::sim
