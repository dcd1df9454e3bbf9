#include "eval/replay.h"

#include <algorithm>
#include <chrono>

namespace flywheel::eval {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

PrequentialReplay::PrequentialReplay(const data::Dataset& dataset, const PositiveFilter& positive,
                                     const ReplayRules& rules, Target* target)
    : dataset_(dataset), positive_(positive), rules_(rules), target_(*target) {
  rules_.batch = std::max<size_t>(1, rules_.batch);
  rules_.score_every = std::max<int64_t>(1, rules_.score_every);
  end_ = std::min(rules_.end, dataset_.events.size());
  rules_.warmup_end = std::min(rules_.warmup_end, end_);
  next_ = rules_.warmup_end;
  seen_.resize(dataset_.users.size());
}

Status PrequentialReplay::Start() {
  size_t items = 0;
  for (size_t i = 0; i < rules_.warmup_end; ++i) {
    const data::Interaction& e = dataset_.events[i];
    items = std::max(items, static_cast<size_t>(e.item) + 1);
    seen_[e.user].insert(e.item);
  }
  if (items > items_known_) {
    FLYWHEEL_RETURN_IF_ERROR(target_.AddItems(items_known_, items));
    items_known_ = items;
  }
  return target_.WarmUp(rules_.warmup_end);
}

size_t PrequentialReplay::BatchEnd(const std::function<bool(size_t)>& due) const {
  size_t to = next_ + 1;
  while (to < end_ && to - next_ < rules_.batch && due(to)) {
    ++to;
  }
  return std::min(to, end_);
}

Status PrequentialReplay::Step(size_t to) {
  to = std::min(to, end_);
  // Test: every event of the batch before the target learns from any of them.
  for (size_t i = next_; i < to; ++i) {
    const data::Interaction& e = dataset_.events[i];
    FLYWHEEL_RETURN_IF_ERROR(target_.Begin(i));
    if (e.item >= items_known_) {
      FLYWHEEL_RETURN_IF_ERROR(target_.AddItems(items_known_, static_cast<size_t>(e.item) + 1));
      items_known_ = static_cast<size_t>(e.item) + 1;
    }
    TestedEvent tested;
    tested.index = i;
    tested.scorable =
        positive_.Accept(e) && !(rules_.exclude_seen && seen_[e.user].count(e.item) != 0);
    if (tested.scorable && scorable_++ % rules_.score_every == 0) {
      top_.clear();
      const auto start = Clock::now();
      FLYWHEEL_ASSIGN_OR_RETURN(const bool answered,
                                target_.Recommend(i, rules_.k, rules_.exclude_seen, &top_));
      tested.asked = true;
      tested.ms = MsSince(start);
      recommend_.Add(tested.ms);
      if (answered) {
        tested.scored = true;
        tested.rank = RankOf(top_, e.item, rules_.k);
        tested.top = &top_;
        hits_.Add(tested.rank);
        if (rules_.at20) {
          FLYWHEEL_RETURN_IF_ERROR(TestAt20(i, e.item, &tested));
        }
      }
    }
    if (on_tested_) {
      on_tested_(tested);
    }
    seen_[e.user].insert(e.item);
  }
  // Train: the batch.
  const auto start = Clock::now();
  FLYWHEEL_RETURN_IF_ERROR(target_.Observe(next_, to));
  const double ms = MsSince(start);
  observe_.Add(ms);
  if (on_observed_) {
    on_observed_(next_, to, ms);
  }
  next_ = to;
  return Status::Ok();
}

Status PrequentialReplay::TestAt20(size_t event, ItemIdx item, TestedEvent* tested) {
  if (rules_.k == kAt20) {
    tested->rank20 = tested->rank;
  } else {
    top20_.clear();
    const auto start = Clock::now();
    FLYWHEEL_ASSIGN_OR_RETURN(const bool answered,
                              target_.Recommend(event, kAt20, rules_.exclude_seen, &top20_));
    tested->ms20 = MsSince(start);
    if (!answered) {
      return Status::Ok();  // scored at K only
    }
    tested->rank20 = RankOf(top20_, item, kAt20);
  }
  tested->scored20 = true;
  hits20_.Add(tested->rank20);
  return Status::Ok();
}

Status PrequentialReplay::Run() {
  FLYWHEEL_RETURN_IF_ERROR(Start());
  while (!done()) {
    FLYWHEEL_RETURN_IF_ERROR(Step(BatchEnd([](size_t) { return true; })));
  }
  return Status::Ok();
}

nlohmann::json PrequentialReplay::MetricsJson() const {
  nlohmann::json metrics = {{"hr", hits_.hr()}, {"ndcg", hits_.ndcg()}, {"mrr", hits_.mrr()}};
  if (rules_.at20) {
    metrics["hr@20"] = hits20_.hr();
    metrics["ndcg@20"] = hits20_.ndcg();
    metrics["mrr@20"] = hits20_.mrr();
  }
  return metrics;
}

}  // namespace flywheel::eval
