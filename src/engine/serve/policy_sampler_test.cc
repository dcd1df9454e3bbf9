// The list policies' probabilities against exact enumeration and Monte Carlo frequencies.
#include "engine/serve/policy_sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace flywheel::engine {
namespace {

ListPolicySpec Spec(PolicyKind kind, double param, int pool = 0, int samples = 0) {
  ListPolicySpec s;
  s.kind = kind;
  s.param = param;
  s.pool = pool;
  s.samples = samples;
  return s;
}

std::vector<double> Scores(int n) {
  std::vector<double> s;
  for (int i = 0; i < n; ++i) {
    s.push_back(2.0 - 0.3 * i);  // best first
  }
  return s;
}

// Frequencies of candidate i at slot j over `draws` seeded draws.
std::vector<std::vector<double>> Frequencies(const PolicySampler& sampler, int n, int draws,
                                             uint64_t seed) {
  std::vector<std::vector<double>> f(sampler.slots(), std::vector<double>(n, 0.0));
  base::Rng rng(seed);
  for (int d = 0; d < draws; ++d) {
    const std::vector<int> list = sampler.Draw(&rng);
    for (size_t j = 0; j < list.size(); ++j) {
      f[j][list[j]] += 1.0 / draws;
    }
  }
  return f;
}

// Within `sigmas` standard errors of a frequency over `draws` (plus an estimator's own error).
void ExpectNear(double expected, double freq, int draws, double extra_se, const char* what, int j,
                int i) {
  const double p = std::max(expected, 1.0 / draws);
  const double se = std::sqrt(p * (1 - p) / draws + extra_se * extra_se);
  EXPECT_NEAR(expected, freq, 4.5 * se + 1e-12) << what << " slot " << j << " item " << i;
}

TEST(EpsilonSampler, MarginalsAreExactAgainstFrequencies) {
  // pool 3 < slots 5: the pool can run out (then a replaced slot keeps its greedy item).
  for (const int pool : {3, 20}) {
    const int n = 30;
    auto sampler = MakeSampler(Spec(PolicyKind::kEpsilon, 0.3, pool), Scores(n), {}, 5, 1);
    ASSERT_EQ(sampler->slots(), 5);
    const int draws = 200'000;
    const auto f = Frequencies(*sampler, n, draws, 7);
    for (int j = 0; j < 5; ++j) {
      double total = 0;
      for (int i = 0; i < n; ++i) {
        const double m = sampler->Marginal(j, i);
        total += m;
        ExpectNear(m, f[j][i], draws, 0, "epsilon", j, i);
        if (i >= 5 + pool || (i < 5 && i != j)) {
          EXPECT_EQ(m, 0.0) << "cannot be at slot " << j;
        }
      }
      EXPECT_NEAR(total, 1.0, 1e-12);
    }
    if (pool == 20) {  // the closed form of doc/loop.md
      EXPECT_DOUBLE_EQ(sampler->Marginal(2, 2), 0.7);
      EXPECT_DOUBLE_EQ(sampler->Marginal(2, 9), 0.3 / 20);
    }
  }
}

// Every list of a small case: the product of the steps equals the list's frequency.
void ExpectStepsGiveListFrequencies(const PolicySampler& sampler, int draws) {
  std::map<std::vector<int>, double> freq;
  base::Rng rng(99);
  for (int d = 0; d < draws; ++d) {
    freq[sampler.Draw(&rng)] += 1.0 / draws;
  }
  double total_probability = 0;
  for (const auto& [list, f] : freq) {
    double p = 1;
    for (size_t j = 0; j < list.size(); ++j) {
      p *= sampler.Step(std::span<const int>(list.data(), j), list[j]);
    }
    total_probability += p;
    const double se = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(p, f, 4.5 * se + 1e-9) << "list starting " << list[0];
  }
  EXPECT_NEAR(total_probability, 1.0, 0.02);  // the lists never drawn are rare
}

TEST(EpsilonSampler, ProductsOfStepsAreListFrequencies) {
  auto sampler = MakeSampler(Spec(PolicyKind::kEpsilon, 0.4, 2), Scores(6), {}, 3, 1);
  ExpectStepsGiveListFrequencies(*sampler, 100'000);
  // Impossible lists: a candidate outside the pool, a greedy item at another slot.
  const std::vector<int> bad = {1};
  EXPECT_EQ(sampler->Step(bad, 0), 0.0);
  EXPECT_EQ(sampler->Step({}, 5), 0.0);
}

TEST(BoltzmannSampler, ProductsOfStepsAreListFrequencies) {
  auto sampler = MakeSampler(Spec(PolicyKind::kBoltzmann, 0.5), Scores(5), {}, 3, 1);
  ExpectStepsGiveListFrequencies(*sampler, 100'000);
}

// Exact Plackett-Luce marginals by enumerating every ordered prefix.
std::vector<std::vector<double>> ExactPlackettLuce(const std::vector<double>& w, int slots) {
  const int n = static_cast<int>(w.size());
  std::vector<std::vector<double>> m(slots, std::vector<double>(n, 0.0));
  std::vector<int> prefix;
  std::function<void(double, double)> walk = [&](double p, double rest) {
    const int j = static_cast<int>(prefix.size());
    if (j == slots) {
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (std::find(prefix.begin(), prefix.end(), i) != prefix.end()) {
        continue;
      }
      const double q = p * w[i] / rest;
      m[j][i] += q;
      prefix.push_back(i);
      walk(q, rest - w[i]);
      prefix.pop_back();
    }
  };
  walk(1.0, std::accumulate(w.begin(), w.end(), 0.0));
  return m;
}

TEST(BoltzmannSampler, SlotOneIsExactAndTheEstimatorIsUnbiased) {
  const int n = 6;
  const int slots = 4;
  const double t = 0.7;
  const std::vector<double> scores = Scores(n);
  std::vector<double> w;
  for (const double s : scores) {
    w.push_back(std::exp((s - scores[0]) / t));
  }
  const auto exact = ExactPlackettLuce(w, slots);
  // Slot 1 exact; the Rao-Blackwellised estimator averaged over 40 seeds within its standard
  // error of the exact marginal (each term lies in [0, 1], so its variance is at most p).
  const int seeds = 40;
  const int samples = 256;
  std::vector<std::vector<double>> mean(slots, std::vector<double>(n, 0.0));
  for (int s = 0; s < seeds; ++s) {
    auto sampler = MakeSampler(Spec(PolicyKind::kBoltzmann, t), scores, {}, slots, 1000 + s);
    for (int j = 0; j < slots; ++j) {
      for (int i = 0; i < n; ++i) {
        mean[j][i] += sampler->Marginal(j, i) / seeds;
      }
    }
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(sampler->Marginal(0, i), exact[0][i], 1e-12);
    }
  }
  for (int j = 1; j < slots; ++j) {
    for (int i = 0; i < n; ++i) {
      const double se = std::sqrt(exact[j][i] / (static_cast<double>(samples) * seeds));
      EXPECT_NEAR(mean[j][i], exact[j][i], 4.5 * se + 1e-3) << "slot " << j << " item " << i;
    }
  }
}

TEST(BoltzmannSampler, EstimatorMatchesFrequenciesWithinItsStandardError) {
  const int n = 50;
  const int samples = 256;
  auto sampler = MakeSampler(Spec(PolicyKind::kBoltzmann, 0.5), Scores(n), {}, 10, 5);
  const int draws = 100'000;
  const auto f = Frequencies(*sampler, n, draws, 11);
  for (int j = 0; j < 10; ++j) {
    for (int i = 0; i < n; ++i) {
      const double m = sampler->Marginal(j, i);
      EXPECT_GT(m, 0.0);
      const double estimator_se = j == 0 ? 0.0 : std::sqrt(std::max(f[j][i], m) / samples);
      ExpectNear(m, f[j][i], draws, estimator_se, "boltzmann", j, i);
    }
  }
}

TEST(ThompsonSampler, MarginalsMatchFrequencies) {
  const int n = 20;
  // Popular candidates are sure of their score (small noise), new ones are explored.
  std::vector<double> popularity(n, 0.0);
  for (int i = 0; i < n; i += 2) {
    popularity[i] = 400;
  }
  auto sampler =
      MakeSampler(Spec(PolicyKind::kThompson, 0.5, 0, 4096), Scores(n), popularity, 5, 3);
  const int draws = 100'000;
  const auto f = Frequencies(*sampler, n, draws, 13);
  for (int j = 0; j < 5; ++j) {
    double total = 0;
    for (int i = 0; i < n; ++i) {
      total += sampler->Marginal(j, i);
      // 4096 resamples: within 0.035 of the frequency; never below the floor.
      EXPECT_NEAR(sampler->Marginal(j, i), f[j][i], 0.035) << "slot " << j << " item " << i;
      EXPECT_GE(sampler->Marginal(j, i), 0.5 / 4096);
    }
    EXPECT_NEAR(total, 1.0, 0.02);
  }
  EXPECT_EQ(sampler->Marginal(0, n), 0.0);  // not a candidate
  EXPECT_EQ(sampler->Marginal(5, 0), 0.0);  // not a slot
  // Steps: the frequency given the prefix, a probability.
  base::Rng rng(5);
  const std::vector<int> list = sampler->Draw(&rng);
  for (size_t j = 0; j < list.size(); ++j) {
    const double step = sampler->Step(std::span<const int>(list.data(), j), list[j]);
    EXPECT_GT(step, 0.0);
    EXPECT_LE(step, 1.0);
  }
}

TEST(PolicySamplers, TheSameSeedGivesTheSameListAndProbabilities) {
  for (const auto& spec : {Spec(PolicyKind::kEpsilon, 0.5), Spec(PolicyKind::kBoltzmann, 1.0),
                           Spec(PolicyKind::kThompson, 1.0)}) {
    auto a = MakeSampler(spec, Scores(40), std::vector<double>(40, 1.0), 10, 77);
    auto b = MakeSampler(spec, Scores(40), std::vector<double>(40, 1.0), 10, 77);
    base::Rng ra(3);
    base::Rng rb(3);
    const std::vector<int> la = a->Draw(&ra);
    EXPECT_EQ(la, b->Draw(&rb));
    for (int j = 0; j < 10; ++j) {
      EXPECT_EQ(a->Marginal(j, la[j]), b->Marginal(j, la[j]));
    }
    bool differs = false;
    for (int s = 0; s < 20 && !differs; ++s) {
      base::Rng other(100 + s);
      differs = a->Draw(&other) != la;
    }
    EXPECT_TRUE(differs) << spec.Canonical() << " never varies";
  }
}

TEST(PolicySamplers, SmallCandidateListsShrinkTheSlots) {
  auto eps = MakeSampler(Spec(PolicyKind::kEpsilon, 1.0), Scores(3), {}, 10, 1);
  EXPECT_EQ(eps->slots(), 3);  // no pool left: every slot keeps its greedy item
  EXPECT_DOUBLE_EQ(eps->Marginal(1, 1), 1.0);
  auto pl = MakeSampler(Spec(PolicyKind::kBoltzmann, 1.0, 4), Scores(30), {}, 10, 1);
  EXPECT_EQ(pl->slots(), 4);
  EXPECT_EQ(pl->Marginal(0, 4), 0.0);  // outside the pool
}

}  // namespace
}  // namespace flywheel::engine
