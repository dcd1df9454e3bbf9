#include "engine/loop/impression_learner.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/loop/reward_ranker.h"

namespace flywheel::engine {
namespace {

constexpr uint32_t kStateVersion = 1;

double Prior(uint32_t position) {
  return 1.0 / std::log2(static_cast<double>(position) + 2.0);
}

uint32_t Bucket(uint32_t position) {
  return std::min(position, ImpressionLearner::kMaxPositions - 1);
}

// A randomised placement: the policy put this item here with probability below one half (an
// epsilon-greedy pool item, E/pool; not its greedy items, 1-E).
bool Explored(const ClosedSlot& slot) {
  return std::isfinite(slot.propensity) && slot.propensity > 0 && slot.propensity < 0.5;
}

// Shown and ignored: no attributed event at all (an answered item with a non-positive reward,
// a skip, was learned from as an event already).
bool Ignored(const ClosedSlot& slot) {
  return slot.item != kNoItem && !slot.clicked && slot.first_lag_ms < 0;
}

}  // namespace

Result<ImpressionLearnerOptions> ImpressionLearnerOptionsFrom(const LoopOptions& loop) {
  ImpressionLearnerOptions options;
  options.enabled = loop.learn_from_impressions;
  if (!(loop.negative_weight >= 0 && loop.negative_weight <= 1)) {
    return Status::InvalidArgument("loop.negative_weight must be in [0, 1]")
        .WithField("loop.negative_weight");
  }
  options.negative_weight = loop.negative_weight;
  if (loop.position_bias == "pbm") {
    options.position_bias = PositionBias::kPbm;
  } else if (loop.position_bias == "cascade") {
    options.position_bias = PositionBias::kCascade;
  } else if (loop.position_bias == "none") {
    options.position_bias = PositionBias::kNone;
  } else {
    return Status::InvalidArgument("loop.position_bias must be pbm, cascade or none, not '" +
                                   loop.position_bias + "'")
        .WithField("loop.position_bias");
  }
  return options;
}

Status ValidateLoopLearning(const LoopOptions& loop) {
  FLYWHEEL_RETURN_IF_ERROR(ImpressionLearnerOptionsFrom(loop).status());
  return ValidateRewardRankerOptions(RewardRankerOptionsFrom(loop));
}

ImpressionLearner::ImpressionLearner(ImpressionLearnerOptions options) : options_(options) {}

double ImpressionLearner::Examination(uint32_t position) const {
  double clicks = 0;
  double weighted_shown = 1;
  for (uint32_t p = 0; p < kMaxPositions; ++p) {
    clicks += clicks_[p];
    weighted_shown += shown_[p] * Prior(p);
  }
  const double rho = clicks / weighted_shown;
  const double m = options_.prior_strength;
  auto rate = [&](uint32_t p) { return (clicks_[p] + m * Prior(p) * rho) / (shown_[p] + m); };
  const uint32_t p = Bucket(position);
  if (p == 0) {
    return 1.0;
  }
  const double r0 = rate(0);
  // No click anywhere yet (rho = 0): the prior itself.
  const double theta = r0 > 0 ? rate(p) / r0 : Prior(p);
  return std::clamp(theta, options_.min_examination, 1.0);
}

void ImpressionLearner::Negatives(const ClosedImpression& closed, std::vector<ItemIdx>* items,
                                  std::vector<float>* weights) const {
  items->clear();
  weights->clear();
  uint32_t last_click = 0;
  bool any_click = false;
  for (const ClosedSlot& slot : closed.slots) {
    if (slot.clicked) {
      last_click = std::max(last_click, slot.position);
      any_click = true;
    }
  }
  for (const ClosedSlot& slot : closed.slots) {
    if (!Ignored(slot)) {
      continue;
    }
    double examined = 1.0;
    switch (options_.position_bias) {
      case PositionBias::kPbm:
        examined = Examination(slot.position);
        break;
      case PositionBias::kCascade:
        examined =
            any_click ? (slot.position < last_click ? 1.0 : 0.0) : Examination(slot.position);
        break;
      case PositionBias::kNone:
        break;
    }
    const auto weight = static_cast<float>(options_.negative_weight * examined);
    if (weight > 0) {
      items->push_back(slot.item);
      weights->push_back(std::min(weight, 1.0f));
    }
  }
}

void ImpressionLearner::CountClicks(const ClosedImpression& closed) {
  for (const ClosedSlot& slot : closed.slots) {
    if (Explored(slot)) {
      const uint32_t p = Bucket(slot.position);
      shown_[p] += 1;
      clicks_[p] += slot.clicked ? 1 : 0;
      ++counters_.explored_slots;
    }
  }
}

void ImpressionLearner::OnClosed(const ClosedImpression& closed) {
  ++counters_.lists;
  if (options_.enabled && models_ != nullptr && users_ != nullptr && closed.user != kNoUser) {
    std::vector<ItemIdx> items;
    std::vector<float> weights;
    Negatives(closed, &items, &weights);
    if (!items.empty()) {
      const model::UserState& state = users_->Find(closed.user);
      for (const auto& m : *models_) {
        m->ObserveNegatives(closed.user, items, weights, closed.ts_ms, state);
      }
      moved_.insert(moved_.end(), items.begin(), items.end());
      counters_.negatives += items.size();
      for (float w : weights) {
        counters_.negative_weight += w;
      }
    }
  }
  CountClicks(closed);
}

void ImpressionLearner::Reset() {
  moved_.clear();
  shown_.fill(0);
  clicks_.fill(0);
  counters_ = Counters{};
}

void ImpressionLearner::Save(base::ByteWriter* out) const {
  out->Put<uint32_t>(kStateVersion);
  out->Put<uint32_t>(kMaxPositions);
  for (uint32_t p = 0; p < kMaxPositions; ++p) {
    out->Put<double>(shown_[p]);
    out->Put<double>(clicks_[p]);
  }
  out->Put<uint64_t>(counters_.lists);
  out->Put<uint64_t>(counters_.explored_slots);
  out->Put<uint64_t>(counters_.negatives);
  out->Put<double>(counters_.negative_weight);
}

Status ImpressionLearner::Load(base::ByteReader* in) {
  uint32_t version = 0;
  uint32_t positions = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "loop_learner version"));
  if (version != kStateVersion) {
    return Status::Corruption("loop_learner: unknown version " + std::to_string(version));
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&positions, "loop_learner positions"));
  if (positions != kMaxPositions) {
    return Status::Corruption("loop_learner: " + std::to_string(positions) + " positions");
  }
  for (uint32_t p = 0; p < kMaxPositions; ++p) {
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&shown_[p], "loop_learner shown"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&clicks_[p], "loop_learner clicks"));
    if (!(shown_[p] >= 0 && clicks_[p] >= 0 && clicks_[p] <= shown_[p])) {
      return Status::Corruption("loop_learner: bad counts at position " + std::to_string(p));
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&counters_.lists, "loop_learner lists"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&counters_.explored_slots, "loop_learner explored"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&counters_.negatives, "loop_learner negatives"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&counters_.negative_weight, "loop_learner weight"));
  return Status::Ok();
}

}  // namespace flywheel::engine
