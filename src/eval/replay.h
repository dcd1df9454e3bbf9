// The prequential replay protocol (protocol P of ../shared/guides/evaluation.md), one
// implementation for `flywheel eval` (in-process targets) and `flywheel replay` (a server over
// HTTP). See doc/evaluation.md and doc/replay.md.
//
// Events are replayed in dataset order (time order, ties in file order) in batches. For a batch
// [next, to):
//   1. test: for each event, in order: its item, when new, enters the catalogue
//      (Target::AddItems); Target::Begin; when it is scorable (it passes the positive filter and,
//      with exclude_seen, the user has not interacted with its item before), and it is the
//      score_every-th scorable event, the target is asked for the user's top K and the rank of
//      the item is counted (HR, NDCG, MRR at K); with ReplayRules::at20 (the default) and
//      K != 20, the target is then asked a second time, for the user's top 20 (same
//      exclude_seen), and the rank of the item in that list is counted (HR, NDCG, MRR at 20);
//      then the item counts as seen by the user;
//   2. train: the batch goes to the target (Target::Observe), which returns once it is applied.
// With batch 1 this is exact test-then-train. Events [0, warmup_end) are given to
// Target::WarmUp first and never scored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "eval/latency.h"
#include "eval/metrics.h"
#include "eval/options.h"
#include "eval/target.h"

namespace flywheel::eval {

struct ReplayRules {
  int k = 10;
  bool exclude_seen = true;
  size_t batch = 1;         // at most this many events per Observe (>= 1)
  int64_t score_every = 1;  // score one scorable event in N (>= 1)
  size_t warmup_end = 0;    // events [0, warmup_end) go to Target::WarmUp, not scored
  size_t end = SIZE_MAX;    // replay stops before this event (clamped to the dataset)
  // Also count HR/NDCG/MRR at 20 (the guide's @20 variants). With K == 20 the K list is used;
  // otherwise it costs one more Target::Recommend (k = 20) per scored test point: a target's
  // top 20 need not extend its top K (the serving pipeline reserves ceil(k * exploration)
  // slots for new items), so @20 is never read off a longer list asked for K.
  bool at20 = true;
};

inline constexpr int kAt20 = 20;

// Called after each replayed event's test, before the target learns from it: `rank` is the
// 1-based rank of the item in the top K (0: a miss) when `scored`; `top` the list the target
// returned and `ms` the time of the K request (when asked). `rank20` is the rank in the top 20
// when `scored20` (at20 on, the event scored and, when K != 20, the second request answered);
// `ms20` the time of that second request (0 when there was none).
struct TestedEvent {
  size_t index = 0;
  bool scorable = false;
  bool asked = false;   // the target was asked (a scorable event, one in score_every)
  bool scored = false;  // and answered
  int rank = 0;
  bool scored20 = false;
  int rank20 = 0;
  const std::vector<model::ScoredItem>* top = nullptr;
  double ms = 0;
  double ms20 = 0;
};

class PrequentialReplay {
 public:
  using TestedFn = std::function<void(const TestedEvent&)>;
  using ObservedFn = std::function<void(size_t from, size_t to, double ms)>;

  // The dataset, filter and target must outlive the replay.
  PrequentialReplay(const data::Dataset& dataset, const PositiveFilter& positive,
                    const ReplayRules& rules, Target* target);

  void OnTested(TestedFn fn) { on_tested_ = std::move(fn); }
  void OnObserved(ObservedFn fn) { on_observed_ = std::move(fn); }

  // The warm-up: the items of events [0, warmup_end) enter the catalogue, Target::WarmUp.
  Status Start();
  // End of the next batch: at least one event, at most `batch`, while due(i) holds.
  size_t BatchEnd(const std::function<bool(size_t)>& due) const;
  // Tests then trains events [next(), to). REQUIRES: next() < to <= end().
  Status Step(size_t to);
  // Start(), then Step() with full batches to the end.
  Status Run();

  size_t next() const { return next_; }
  size_t begin() const { return rules_.warmup_end; }
  size_t end() const { return end_; }
  bool done() const { return next_ >= end_; }
  const ReplayRules& rules() const { return rules_; }
  const HitAccumulator& hits() const { return hits_; }
  // HR/NDCG/MRR at 20 (empty without at20).
  const HitAccumulator& hits20() const { return hits20_; }
  // The K requests only (the @20 requests are not timed here).
  const LatencyHistogram& recommend_latency() const { return recommend_; }
  const LatencyHistogram& observe_latency() const { return observe_; }
  // {"hr", "ndcg", "mrr"} at K and, with at20, {"hr@20", "ndcg@20", "mrr@20"}.
  nlohmann::json MetricsJson() const;

 private:
  // The @20 ranking of a scored event (ReplayRules::at20).
  Status TestAt20(size_t event, ItemIdx item, TestedEvent* tested);

  const data::Dataset& dataset_;
  const PositiveFilter& positive_;
  ReplayRules rules_;
  Target& target_;
  size_t end_ = 0;
  size_t next_ = 0;
  size_t items_known_ = 0;  // items [0, n) have entered the catalogue
  int64_t scorable_ = 0;
  std::vector<std::unordered_set<ItemIdx>> seen_;  // by user
  HitAccumulator hits_;
  HitAccumulator hits20_;
  LatencyHistogram recommend_;
  LatencyHistogram observe_;
  std::vector<model::ScoredItem> top_;
  std::vector<model::ScoredItem> top20_;
  TestedFn on_tested_;
  ObservedFn on_observed_;
};

}  // namespace flywheel::eval
