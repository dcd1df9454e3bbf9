// AnnIndex benchmarks (results and analysis: bench/results/ann.md).
//   build/release/bin/flywheel_ann_benchmark --benchmark_filter=...
// Data: 100k items x d=64 from ann::ClusteredVectors (64 clusters, norms exp(N(0, 0.5))), 1000
// queries drawn the same way with another seed; k = 10.
// - HnswBuild/{m, ef_construction}: inserting the 100k items one by one (one iteration); the
//   built index is cached for the searches with the same {m, ef_construction}.
// - FlatSearch/{N}, HnswSearch/{m, ef_construction, ef_search, N}: one query per iteration, cycling
//   through the queries; counter recall@10 = mean overlap with the exact top 10.
// - Last argument of FlatSearch and HnswSearch: a filter passing 1 id in N (id % N == 0; N = 2,
//   10, 100), 0 = none.
// - Upsert/{0 flat, 1 hnsw}: replacing random existing items' vectors (with their own values).
// - SearchUnderWrites/{kind}: searches while one writer thread upserts as fast as it can;
//   counters writes/s = the writer's rate meanwhile, upsert_wall_us = its wall time per Upsert
//   (lock wait included; compare BM_Upsert).
// - RwLockShared: one uncontended lock_shared/unlock_shared pair (the per-search lock cost).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "ann/ann_index.h"
#include "ann/flat_index.h"
#include "ann/hnsw_index.h"
#include "ann/recall.h"
#include "base/check.h"
#include "base/random.h"
#include "base/rw_lock.h"

namespace flywheel::ann {
namespace {

constexpr uint32_t kDim = 64;
constexpr size_t kItems = 100000;
constexpr size_t kQueries = 1000;
constexpr int kK = 10;

const std::vector<float>& Items() {
  static const std::vector<float> items = ClusteredVectors({.n = kItems, .dim = kDim, .seed = 1});
  return items;
}

const std::vector<float>& Queries() {
  static const std::vector<float> queries =
      ClusteredVectors({.n = kQueries, .dim = kDim, .seed = 2});
  return queries;
}

std::span<const float> Item(size_t i) {
  return std::span<const float>(Items()).subspan(i * kDim, kDim);
}
std::span<const float> Query(size_t i) {
  return std::span<const float>(Queries()).subspan(i * kDim, kDim);
}

// The filters of the *Filtered runs: pass 1 id in `keep_every` (0: no filter).
Status SearchKeeping(const AnnIndex& index, size_t q, int64_t keep_every,
                     std::vector<Neighbor>* out) {
  if (keep_every == 0) {
    return index.Search(Query(q), kK, {}, out);
  }
  const auto modulus = static_cast<uint32_t>(keep_every);
  return index.Search(
      Query(q), kK, [modulus](uint32_t id) { return id % modulus == 0; }, out);
}

void Fill(AnnIndex* index) {
  for (size_t i = 0; i < kItems; ++i) {
    FLYWHEEL_CHECK(index->Upsert(static_cast<uint32_t>(i), Item(i)).ok());
  }
}

FlatIndex& SharedFlat() {
  static FlatIndex* flat = [] {
    auto* index = new FlatIndex(kDim);
    Fill(index);
    return index;
  }();
  return *flat;
}

std::map<std::pair<int, int>, std::unique_ptr<HnswIndex>>& HnswCache() {
  static auto* cache = new std::map<std::pair<int, int>, std::unique_ptr<HnswIndex>>();
  return *cache;
}

std::unique_ptr<HnswIndex> BuildHnsw(int m, int ef_construction) {
  AnnParams params;
  params.m = m;
  params.ef_construction = ef_construction;
  params.initial_capacity = kItems;
  Result<std::unique_ptr<HnswIndex>> index = HnswIndex::Create(kDim, params);
  FLYWHEEL_CHECK(index.ok()) << index.status().ToString();
  Fill(index->get());
  return std::move(index).value();
}

HnswIndex& SharedHnsw(int m, int ef_construction) {
  std::unique_ptr<HnswIndex>& slot = HnswCache()[{m, ef_construction}];
  if (slot == nullptr) {
    slot = BuildHnsw(m, ef_construction);
  }
  return *slot;
}

// Exact top-k ids per query (from FlatIndex), computed once per filter setting.
const std::vector<std::vector<uint32_t>>& ExactIds(int64_t keep_every) {
  static std::map<int64_t, std::vector<std::vector<uint32_t>>> cache;
  std::vector<std::vector<uint32_t>>& ids = cache[keep_every];
  if (ids.empty()) {
    std::vector<Neighbor> out;
    for (size_t q = 0; q < kQueries; ++q) {
      FLYWHEEL_CHECK(SearchKeeping(SharedFlat(), q, keep_every, &out).ok());
      ids.emplace_back();
      for (const Neighbor& n : out) {
        ids.back().push_back(n.id);
      }
    }
  }
  return ids;
}

double Recall(const AnnIndex& index, int64_t keep_every) {
  const auto& exact = ExactIds(keep_every);
  std::vector<Neighbor> out;
  double sum = 0;
  for (size_t q = 0; q < kQueries; ++q) {
    FLYWHEEL_CHECK(SearchKeeping(index, q, keep_every, &out).ok());
    size_t hits = 0;
    for (const Neighbor& n : out) {
      hits += static_cast<size_t>(std::count(exact[q].begin(), exact[q].end(), n.id));
    }
    sum += static_cast<double>(hits) / static_cast<double>(exact[q].size());
  }
  return sum / kQueries;
}

void RunSearches(benchmark::State& state, const AnnIndex& index, int64_t keep_every) {
  std::vector<Neighbor> out;
  size_t q = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SearchKeeping(index, q, keep_every, &out).ok());
    benchmark::DoNotOptimize(out.data());
    q = (q + 1) % kQueries;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_HnswBuild(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  const int ef_construction = static_cast<int>(state.range(1));
  for (auto _ : state) {
    HnswCache()[{m, ef_construction}] = BuildHnsw(m, ef_construction);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kItems));
}

void BM_FlatSearch(benchmark::State& state) {
  RunSearches(state, SharedFlat(), state.range(0));
}

void BM_HnswSearch(benchmark::State& state) {
  HnswIndex& index = SharedHnsw(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  FLYWHEEL_CHECK(index.SetEfSearch(static_cast<int>(state.range(2))).ok());
  const int64_t keep_every = state.range(3);
  (void)ExactIds(keep_every);  // outside the timed loop
  RunSearches(state, index, keep_every);
  state.counters["recall@10"] = Recall(index, keep_every);
  FLYWHEEL_CHECK(index.SetEfSearch(AnnParams().ef_search).ok());
}

AnnIndex& SharedIndex(int64_t kind) {
  if (kind == 0) {
    return SharedFlat();
  }
  HnswIndex& index = SharedHnsw(AnnParams().m, AnnParams().ef_construction);
  FLYWHEEL_CHECK(index.SetEfSearch(AnnParams().ef_search).ok());
  return index;
}

void BM_Upsert(benchmark::State& state) {
  AnnIndex& index = SharedIndex(state.range(0));
  base::Rng rng(3);
  for (auto _ : state) {
    const size_t i = rng.Uniform(kItems);
    benchmark::DoNotOptimize(index.Upsert(static_cast<uint32_t>(i), Item(i)).ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_SearchUnderWrites(benchmark::State& state) {
  AnnIndex& index = SharedIndex(state.range(0));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::thread writer([&] {
    base::Rng rng(4);
    while (!stop.load(std::memory_order_relaxed)) {
      const size_t i = rng.Uniform(kItems);
      FLYWHEEL_CHECK(index.Upsert(static_cast<uint32_t>(i), Item(i)).ok());
      writes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  RunSearches(state, index, /*keep_every=*/0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop = true;
  writer.join();
  state.counters["writes/s"] = static_cast<double>(writes.load()) / seconds;
  state.counters["upsert_wall_us"] =
      seconds * 1e6 / static_cast<double>(std::max<int64_t>(1, writes.load()));
}

void BM_RwLockShared(benchmark::State& state) {
  static base::RwLock lock;
  for (auto _ : state) {
    std::shared_lock guard(lock);
    benchmark::ClobberMemory();
  }
}

// Sweeps: graph parameters at the default ef_search, then ef_search at the default graph.
BENCHMARK(BM_HnswBuild)
    ->Args({16, 200})
    ->Args({8, 200})
    ->Args({32, 200})
    ->Args({16, 100})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FlatSearch)->Arg(0)->Arg(2)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HnswSearch)
    ->Args({16, 200, 10, 0})
    ->Args({16, 200, 20, 0})
    ->Args({16, 200, 40, 0})
    ->Args({16, 200, 64, 0})
    ->Args({16, 200, 100, 0})
    ->Args({16, 200, 160, 0})
    ->Args({16, 200, 320, 0})
    ->Args({8, 200, 100, 0})
    ->Args({32, 200, 100, 0})
    ->Args({16, 100, 100, 0})
    ->Args({16, 200, 100, 2})
    ->Args({16, 200, 100, 10})
    ->Args({16, 200, 100, 100})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Upsert)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SearchUnderWrites)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_RwLockShared);

}  // namespace
}  // namespace flywheel::ann

BENCHMARK_MAIN();
