// Epsilon-greedy (exact), Boltzmann / Plackett-Luce (exact steps; Rao-Blackwellised Monte Carlo
// marginals beyond slot 1) and Thompson (Monte Carlo) samplers: doc/loop.md section 4.
#include "engine/serve/policy_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace flywheel::engine {
namespace {

constexpr uint64_t kEstimatorStream = 0x5eed0f0e57a7e5ULL;

bool Contains(std::span<const int> v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Epsilon-greedy: slot j keeps the j-th best with probability 1-E; with probability E it takes
// an item drawn uniformly, without replacement among the replaced slots, from the pool (the
// candidates ranked slots+1..slots+pool); when the replaced slots above used the whole pool, the
// slot keeps its greedy item. Every probability is exact.
class EpsilonSampler : public PolicySampler {
 public:
  EpsilonSampler(double epsilon, int n, int slots, int pool)
      : PolicySampler(std::min(slots, n)), e_(epsilon), pool_(std::clamp(n - slots_, 0, pool)) {
    // exhausted_[j]: P(at least pool_ of the j slots above were replaced), r ~ Binomial(j, E).
    std::vector<double> pmf{1.0};
    for (int j = 0; j < slots_; ++j) {
      double below = 0;
      for (int r = 0; r < static_cast<int>(pmf.size()) && r < pool_; ++r) {
        below += pmf[r];
      }
      exhausted_.push_back(std::max(0.0, 1.0 - below));
      std::vector<double> next(pmf.size() + 1, 0.0);
      for (size_t r = 0; r < pmf.size(); ++r) {
        next[r] += pmf[r] * (1 - e_);
        next[r + 1] += pmf[r] * e_;
      }
      pmf.swap(next);
    }
  }

  std::vector<int> Draw(base::Rng* rng) const override {
    std::vector<int> remaining(pool_);
    std::iota(remaining.begin(), remaining.end(), slots_);
    std::vector<int> out;
    for (int j = 0; j < slots_; ++j) {
      if (rng->Bernoulli(e_) && !remaining.empty()) {
        const size_t pick = rng->Uniform(remaining.size());
        out.push_back(remaining[pick]);
        remaining[pick] = remaining.back();
        remaining.pop_back();
      } else {
        out.push_back(j);
      }
    }
    return out;
  }

  double Marginal(int j, int idx) const override {
    if (j < 0 || j >= slots_ || idx < 0) {
      return 0;
    }
    if (idx == j) {
      return (1 - e_) + e_ * exhausted_[j];
    }
    return InPool(idx) ? e_ * (1 - exhausted_[j]) / pool_ : 0;
  }

  double Step(std::span<const int> prefix, int idx) const override {
    const int j = static_cast<int>(prefix.size());
    if (j >= slots_ || idx < 0) {
      return 0;
    }
    int replaced = 0;
    for (int i = 0; i < j; ++i) {
      if (prefix[i] == i) {
        continue;
      }
      if (!InPool(prefix[i]) || Contains(prefix.subspan(0, i), prefix[i])) {
        return 0;  // a list this policy cannot show
      }
      ++replaced;
    }
    if (idx == j) {
      return (1 - e_) + (replaced >= pool_ ? e_ : 0.0);
    }
    if (!InPool(idx) || Contains(prefix, idx) || replaced >= pool_) {
      return 0;
    }
    return e_ / (pool_ - replaced);
  }

 private:
  bool InPool(int idx) const { return idx >= slots_ && idx < slots_ + pool_; }

  const double e_;
  const int pool_;
  std::vector<double> exhausted_;
};

// Samplers over the top `pool` candidates that draw a whole ordering at once and estimate the
// marginals from `samples` seeded draws.
class PoolSampler : public PolicySampler {
 protected:
  PoolSampler(int n, int slots, int pool)
      : PolicySampler(std::min({slots, n, pool})), q_(std::min(n, pool)) {}
  bool Valid(int idx) const { return idx >= 0 && idx < q_; }
  // A valid prefix: candidates of the pool, no repeats.
  bool ValidPrefix(std::span<const int> prefix) const {
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (!Valid(prefix[i]) || Contains(prefix.subspan(0, i), prefix[i])) {
        return false;
      }
    }
    return true;
  }
  // The `slots_` best of `keys` (descending), as candidate indices.
  std::vector<int> TopSlots(const std::vector<double>& keys) const {
    std::vector<int> order(q_);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + slots_, order.end(),
                      [&](int a, int b) { return keys[a] != keys[b] ? keys[a] > keys[b] : a < b; });
    order.resize(slots_);
    return order;
  }
  const int q_;
};

// Plackett-Luce with weights softmax(score / T) over the pool, drawn with the Gumbel-top-k trick
// (the same distribution as sequential sampling without replacement).
class BoltzmannSampler : public PoolSampler {
 public:
  BoltzmannSampler(const std::vector<double>& scores, double temperature, int slots, int pool,
                   int samples, uint64_t seed)
      : PoolSampler(static_cast<int>(scores.size()), slots, pool), samples_(samples) {
    const double top = q_ > 0 ? scores[0] : 0;
    for (int i = 0; i < q_; ++i) {
      log_w_.push_back((scores[i] - top) / temperature);
      w_.push_back(std::exp(log_w_.back()));
      total_ += w_.back();
    }
    // The estimator's prefixes: the remaining weight before each slot, and each item's slot.
    base::Rng rng(base::Mix64(seed ^ kEstimatorStream));
    const int depth = std::max(slots_ - 1, 0);
    rest_.assign(static_cast<size_t>(samples_) * depth, 0.0);
    slot_of_.assign(static_cast<size_t>(samples_) * q_, slots_);
    for (int s = 0; s < samples_ && depth > 0; ++s) {
      const std::vector<int> order = Draw(&rng);
      double rest = total_;
      for (int j = 0; j < depth; ++j) {
        rest -= w_[order[j]];
        rest_[static_cast<size_t>(s) * depth + j] = std::max(rest, 0.0);
        slot_of_[static_cast<size_t>(s) * q_ + order[j]] = j;
      }
    }
  }

  std::vector<int> Draw(base::Rng* rng) const override {
    std::vector<double> keys(q_);
    for (int i = 0; i < q_; ++i) {
      const double u = rng->UniformDouble() + 0x1.0p-54;
      keys[i] = log_w_[i] - std::log(-std::log(u));
    }
    return TopSlots(keys);
  }

  // Slot 1: w_i / W (exact). Slot j > 1: the mean over the sampled prefixes of length j of
  // P(i at j | prefix) = w_i / (W - prefix weight), 0 when the prefix holds i (Rao-Blackwell:
  // unbiased); floored at w_i / W / (2 samples) so that a shown item never gets 0.
  double Marginal(int j, int idx) const override {
    if (j < 0 || j >= slots_ || !Valid(idx)) {
      return 0;
    }
    const double first = w_[idx] / total_;
    if (j == 0) {
      return first;
    }
    const int depth = slots_ - 1;
    double sum = 0;
    for (int s = 0; s < samples_; ++s) {
      if (slot_of_[static_cast<size_t>(s) * q_ + idx] >= j) {
        const double rest = rest_[static_cast<size_t>(s) * depth + (j - 1)];
        sum += rest > 0 ? std::min(1.0, w_[idx] / rest) : 1.0;
      }
    }
    return std::max(sum / samples_, first / (2.0 * samples_));
  }

  double Step(std::span<const int> prefix, int idx) const override {
    if (static_cast<int>(prefix.size()) >= slots_ || !Valid(idx) || Contains(prefix, idx) ||
        !ValidPrefix(prefix)) {
      return 0;
    }
    double rest = 0;  // summed afresh: no cancellation from subtracting large weights
    for (int i = 0; i < q_; ++i) {
      if (!Contains(prefix, i)) {
        rest += w_[i];
      }
    }
    return w_[idx] / rest;
  }

 private:
  const int samples_;
  std::vector<double> log_w_;
  std::vector<double> w_;
  double total_ = 0;
  std::vector<double> rest_;  // [sample][slot]: weight not yet drawn after the slot
  std::vector<int> slot_of_;  // [sample][item]: slot of the item in the sample (slots_: none)
};

// Thompson-style: each pool candidate's score plus N(0, (S / sqrt(1 + n_i))^2), the best of the
// perturbed scores. Marginals and steps are Monte Carlo estimates (doc/loop.md).
class ThompsonSampler : public PoolSampler {
 public:
  ThompsonSampler(std::vector<double> scores, const std::vector<double>& popularity, double scale,
                  int slots, int pool, int samples, uint64_t seed)
      : PoolSampler(static_cast<int>(scores.size()), slots, pool),
        samples_(samples),
        scores_(std::move(scores)) {
    for (int i = 0; i < q_; ++i) {
      sigma_.push_back(scale / std::sqrt(1.0 + std::max(0.0, popularity[i])));
    }
    base::Rng rng(base::Mix64(seed ^ kEstimatorStream));
    draws_.reserve(static_cast<size_t>(samples_) * slots_);
    counts_.assign(static_cast<size_t>(slots_) * q_, 0);
    for (int s = 0; s < samples_; ++s) {
      const std::vector<int> order = Draw(&rng);
      for (int j = 0; j < slots_; ++j) {
        ++counts_[static_cast<size_t>(j) * q_ + order[j]];
      }
      draws_.insert(draws_.end(), order.begin(), order.end());
    }
  }

  std::vector<int> Draw(base::Rng* rng) const override {
    std::vector<double> keys(q_);
    for (int i = 0; i < q_; ++i) {
      keys[i] = scores_[i] + sigma_[i] * rng->Normal();
    }
    return TopSlots(keys);
  }

  // The frequency over the resamples, floored at 1 / (2 samples) for a pool candidate.
  double Marginal(int j, int idx) const override {
    if (j < 0 || j >= slots_ || !Valid(idx)) {
      return 0;
    }
    const double f = static_cast<double>(counts_[static_cast<size_t>(j) * q_ + idx]) / samples_;
    return std::max(f, 0.5 / samples_);
  }

  // Among the resamples that drew the same prefix (at least kMinMatches of them), the frequency
  // of idx next; else the marginals renormalised over what the prefix leaves.
  double Step(std::span<const int> prefix, int idx) const override {
    const int j = static_cast<int>(prefix.size());
    if (j >= slots_ || !Valid(idx) || Contains(prefix, idx) || !ValidPrefix(prefix)) {
      return 0;
    }
    constexpr int kMinMatches = 16;
    int matches = 0;
    int hits = 0;
    for (int s = 0; s < samples_; ++s) {
      const int* d = &draws_[static_cast<size_t>(s) * slots_];
      if (std::equal(prefix.begin(), prefix.end(), d)) {
        ++matches;
        hits += d[j] == idx ? 1 : 0;
      }
    }
    if (matches >= kMinMatches) {
      return std::max(static_cast<double>(hits) / matches, 0.5 / matches);
    }
    double taken = 0;
    for (const int a : prefix) {
      taken += Marginal(j, a);
    }
    return std::min(1.0, Marginal(j, idx) / std::max(1e-12, 1.0 - taken));
  }

 private:
  const int samples_;
  const std::vector<double> scores_;
  std::vector<double> sigma_;
  std::vector<int> draws_;   // [sample][slot]
  std::vector<int> counts_;  // [slot][item]
};

}  // namespace

std::unique_ptr<PolicySampler> MakeSampler(const ListPolicySpec& spec, std::vector<double> scores,
                                           std::vector<double> popularity, int slots,
                                           uint64_t seed) {
  const int n = static_cast<int>(scores.size());
  const int samples = spec.samples > 0 ? spec.samples : kDefaultPolicySamples;
  // Boltzmann and Thompson sample among max(50, slots) candidates unless the spec names a pool.
  const int pool = spec.pool > 0 ? spec.pool : std::max(kDefaultSamplingPool, slots);
  switch (spec.kind) {
    case PolicyKind::kEpsilon:
      return std::make_unique<EpsilonSampler>(spec.param, n, slots,
                                              spec.pool > 0 ? spec.pool : kDefaultEpsilonPool);
    case PolicyKind::kBoltzmann:
      return std::make_unique<BoltzmannSampler>(scores, spec.param, slots, pool, samples, seed);
    case PolicyKind::kThompson:
      return std::make_unique<ThompsonSampler>(std::move(scores), popularity, spec.param, slots,
                                               pool, samples, seed);
    case PolicyKind::kGreedy:
      break;
  }
  return nullptr;
}

}  // namespace flywheel::engine
