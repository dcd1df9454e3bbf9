// The samplers behind the list policies (policy.h; doc/loop.md section 4): each draws the policy
// slots from a ranked candidate list and gives exact or estimated probabilities of any item at
// any slot. Internal to src/engine/serve.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/random.h"
#include "engine/serve/policy.h"

namespace flywheel::engine {

// Over `scores` (the rule-compliant candidates, best first; index i is the i-th best) and
// `slots` slots. An item index of -1 means "not a candidate" (probability 0).
class PolicySampler {
 public:
  virtual ~PolicySampler() = default;
  // Slots the policy fills (<= the requested slots: a sampling pool may be smaller).
  int slots() const { return slots_; }
  // One list: candidate indices, one per slot.
  virtual std::vector<int> Draw(base::Rng* rng) const = 0;
  // P(candidate idx at slot j) (the marginal; exact or the policy's estimator).
  virtual double Marginal(int j, int idx) const = 0;
  // P(candidate idx at slot prefix.size() | the candidates `prefix` at the slots above).
  virtual double Step(std::span<const int> prefix, int idx) const = 0;

 protected:
  explicit PolicySampler(int slots) : slots_(slots) {}
  int slots_;
};

// `popularity[i]`: interactions of candidate i (Thompson's posterior scale). `seed` seeds the
// Monte Carlo estimators (not the draw). kind must not be kGreedy.
std::unique_ptr<PolicySampler> MakeSampler(const ListPolicySpec& spec, std::vector<double> scores,
                                           std::vector<double> popularity, int slots,
                                           uint64_t seed);

}  // namespace flywheel::engine
