#include "eval/ope_reward_model.h"

#include <algorithm>
#include <cmath>

namespace flywheel::eval {

void PositionItemModel::Fit(const std::vector<RewardObservation>& observations, size_t items,
                            double prior, int iterations) {
  rate_.assign(items, 0.0);
  item_seen_.assign(items, 0);
  examination_.clear();
  mean_ = 0;
  if (observations.empty()) {
    return;
  }
  uint32_t max_position = 0;
  double sum = 0;
  for (const RewardObservation& o : observations) {
    max_position = std::max(max_position, o.position);
    sum += o.value;
    item_seen_[o.item] = 1;
  }
  mean_ = sum / static_cast<double>(observations.size());
  examination_.assign(static_cast<size_t>(max_position) + 1, 1.0);
  for (int iteration = 0; iteration < iterations; ++iteration) {
    UpdateRates(observations, prior);
    UpdateExamination(observations);
  }
  UpdateRates(observations, prior);
}

void PositionItemModel::UpdateRates(const std::vector<RewardObservation>& observations,
                                    double prior) {
  std::vector<double> value_sum(rate_.size(), 0.0);
  std::vector<double> exposure(rate_.size(), 0.0);
  double total_value = 0;
  double total_exposure = 0;
  for (const RewardObservation& o : observations) {
    value_sum[o.item] += o.value;
    exposure[o.item] += examination_[o.position];
    total_value += o.value;
    total_exposure += examination_[o.position];
  }
  // The prior: the mean rate at full examination.
  if (total_exposure > 0) {
    mean_ = total_value / total_exposure;
  }
  for (size_t i = 0; i < rate_.size(); ++i) {
    const double denominator = exposure[i] + prior;
    rate_[i] = denominator > 0 ? (value_sum[i] + prior * mean_) / denominator : mean_;
  }
}

void PositionItemModel::UpdateExamination(const std::vector<RewardObservation>& observations) {
  std::vector<double> value_sum(examination_.size(), 0.0);
  std::vector<double> exposure(examination_.size(), 0.0);
  std::vector<char> seen(examination_.size(), 0);
  for (const RewardObservation& o : observations) {
    value_sum[o.position] += o.value;
    exposure[o.position] += rate_[o.item];
    seen[o.position] = 1;
  }
  std::vector<double> next(examination_.size(), 1.0);
  for (size_t p = 0; p < next.size(); ++p) {
    const double e = exposure[p] > 0 ? value_sum[p] / exposure[p] : 0.0;
    // Unobserved or degenerate positions (no positive exposure, negative totals) inherit the
    // position above them.
    if (seen[p] != 0 && exposure[p] > 0 && std::isfinite(e) && e >= 0) {
      next[p] = e;
    } else {
      next[p] = p == 0 ? 1.0 : next[p - 1];
    }
  }
  // Scale so that examination[0] is 1 (the product is unchanged: rates absorb the factor).
  const double scale = next[0] > 0 ? next[0] : 1.0;
  for (double& e : next) {
    e /= scale;
  }
  for (double& r : rate_) {
    r *= scale;
  }
  examination_ = std::move(next);
}

double PositionItemModel::Predict(uint32_t item, uint32_t position) const {
  if (examination_.empty()) {
    return mean_;
  }
  const double e = examination_[std::min<size_t>(position, examination_.size() - 1)];
  const double r = item < rate_.size() && item_seen_[item] != 0 ? rate_[item] : mean_;
  return e * r;
}

}  // namespace flywheel::eval
