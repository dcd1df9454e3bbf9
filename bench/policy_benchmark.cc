// The list policies' cost per request (doc/loop.md section 4): draw k = 10 slots from 50 scored
// candidates and compute every shown item's propensity and step, as ApplyListPolicy does.
//   cmake --preset release && cmake --build build/release --target flywheel_policy_benchmark
//   build/release/bin/flywheel_policy_benchmark
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "engine/serve/policy_sampler.h"

namespace flywheel::engine {
namespace {

void BM_Policy(benchmark::State& state, const std::string& spec_text) {
  const ListPolicySpec spec = ParseListPolicy(spec_text).value();
  std::vector<double> scores;
  std::vector<double> popularity;
  base::Rng init(1);
  for (int i = 0; i < 50; ++i) {
    scores.push_back(3.0 - 0.05 * i + 0.01 * init.UniformDouble());
    popularity.push_back(static_cast<double>(init.Uniform(1000)));
  }
  uint64_t seed = 0;
  for (auto _ : state) {
    ++seed;
    auto sampler = MakeSampler(spec, scores, popularity, 10, seed);
    base::Rng rng(seed);
    const std::vector<int> list = sampler->Draw(&rng);
    double sum = 0;
    for (size_t j = 0; j < list.size(); ++j) {
      sum += sampler->Marginal(static_cast<int>(j), list[j]);
      sum += sampler->Step(std::span<const int>(list.data(), j), list[j]);
    }
    benchmark::DoNotOptimize(sum);
  }
}

BENCHMARK_CAPTURE(BM_Policy, epsilon, std::string("epsilon:0.1"));
BENCHMARK_CAPTURE(BM_Policy, boltzmann, std::string("boltzmann:0.5"));
BENCHMARK_CAPTURE(BM_Policy, thompson, std::string("thompson:0.5"));

}  // namespace
}  // namespace flywheel::engine

BENCHMARK_MAIN();
