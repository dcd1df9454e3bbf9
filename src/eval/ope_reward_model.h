// The direct method's reward model (doc/loop.md, section 7): a position-based model
// value(item, position) = examination[position] * rate[item], fitted by alternating
// least-squares-free ratio updates (the maximum-likelihood fixed point of a Poisson model):
//   rate[i] = (sum of i's values + prior * mean) / (sum of examination over i's slots + prior)
//   examination[p] = sum of the values at p / sum of rate over the slots at p, examination[0] = 1
// An item never observed gets the mean rate; a position never observed the examination of the
// nearest observed position above it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace flywheel::eval {

struct RewardObservation {
  uint32_t item = 0;  // dense index < items
  uint32_t position = 0;
  double value = 0;
};

class PositionItemModel {
 public:
  void Fit(const std::vector<RewardObservation>& observations, size_t items, double prior,
           int iterations = 8);
  double Predict(uint32_t item, uint32_t position) const;
  double mean_rate() const { return mean_; }
  const std::vector<double>& examination() const { return examination_; }

 private:
  void UpdateRates(const std::vector<RewardObservation>& observations, double prior);
  void UpdateExamination(const std::vector<RewardObservation>& observations);

  std::vector<double> rate_;
  std::vector<double> examination_;  // by position, up to the largest observed
  std::vector<char> item_seen_;
  double mean_ = 0;
};

}  // namespace flywheel::eval
