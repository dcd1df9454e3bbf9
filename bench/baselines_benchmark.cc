// Micro-benchmarks of the baseline hot paths: top-K selection over a catalogue, and ItemKNN's
// Observe and Recommend at MovieLens-1M scale (3,600 items, dense co-occurrence rows).
//   build/release/bin/flywheel_baselines_benchmark
#include <vector>

#include <benchmark/benchmark.h>

#include "base/random.h"
#include "model/baselines.h"
#include "model/recommender.h"

namespace flywheel::model {
namespace {

void BM_SelectTopK(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  base::Rng rng(1);
  std::vector<float> source(n);
  for (float& x : source) {
    x = static_cast<float>(rng.UniformDouble());
  }
  std::vector<float> scores(n);
  std::vector<ScoredItem> top;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    scores = source;
    SelectTopK(scores, 10, {}, &top);
    benchmark::DoNotOptimize(top.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(n * sizeof(float)));
}
BENCHMARK(BM_SelectTopK)->Arg(3600)->Arg(55000)->Arg(1000000);

// An ItemKNN trained on 300k events of 3,000 users over 3,600 items (clustered tastes).
struct KnnFixture {
  ItemKnn knn{ItemKnnOptions{}};
  UserStateStore users;
  std::vector<data::Interaction> events;
  KnnFixture() {
    base::Rng rng(7);
    for (int i = 0; i < 300000; ++i) {
      data::Interaction e;
      e.user = static_cast<UserIdx>(rng.Uniform(3000));
      const uint64_t center = e.user * 37 % 3600;
      e.item = static_cast<ItemIdx>((center + rng.Uniform(400)) % 3600);
      e.ts_ms = i;
      events.push_back(e);
      knn.Observe(e, users.Get(e.user));
      users.Get(e.user).Add(e);
    }
  }
};

KnnFixture& Fixture() {
  static KnnFixture* fixture = new KnnFixture();
  return *fixture;
}

void BM_ItemKnnRecommend(benchmark::State& state) {
  KnnFixture& f = Fixture();
  std::vector<ScoredItem> top;
  UserIdx user = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    const UserState& u = f.users.Find(user);
    f.knn.Recommend(RecommendRequest{user, 10, 0, &u, u.seen_items()}, &top);
    benchmark::DoNotOptimize(top.data());
    user = (user + 1) % 3000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ItemKnnRecommend);

void BM_ItemKnnObserve(benchmark::State& state) {
  KnnFixture& f = Fixture();
  ItemKnn knn{ItemKnnOptions{}};
  UserStateStore users;
  size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    const data::Interaction& e = f.events[i];
    knn.Observe(e, users.Get(e.user));
    users.Get(e.user).Add(e);
    i = (i + 1) % f.events.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ItemKnnObserve);

}  // namespace
}  // namespace flywheel::model

BENCHMARK_MAIN();
