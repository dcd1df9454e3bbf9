// Embedding row-update and lookup throughput (results and analysis: bench/results/embedding.md).
//   flywheel_embedding_benchmark --benchmark_filter=...
// Update benchmarks apply batches of 256 gradients for uniformly random ids through
// EmbeddingTable:: ApplyGradients (one exclusive lock per batch); items/s = row updates per second.
// Arguments: {rows, optimizer kind}. d = 64 throughout.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "base/random.h"
#include "embedding/embedding_table.h"

namespace flywheel::embedding {
namespace {

constexpr uint32_t kDim = 64;
constexpr size_t kBatch = 256;
constexpr size_t kIdPool = 1 << 20;  // pre-drawn random ids, cycled (keeps the RNG out of the loop)

std::vector<uint64_t> RandomIds(int64_t rows, uint64_t seed) {
  base::Rng rng(seed);
  std::vector<uint64_t> ids(kIdPool);
  for (uint64_t& id : ids) {
    id = rng.Uniform(static_cast<uint64_t>(rows));
  }
  return ids;
}

// Tables are expensive to fill (10M rows): cache one per (rows, kind).
EmbeddingTable& SharedTable(int64_t rows, OptimizerKind kind) {
  static std::unique_ptr<EmbeddingTable> table;
  static int64_t cached_rows = -1;
  static OptimizerKind cached_kind = OptimizerKind::kSgd;
  if (table == nullptr || cached_rows != rows || cached_kind != kind) {
    table.reset();
    EmbeddingTableOptions options;
    options.dim = kDim;
    options.optimizer.kind = kind;
    table = std::move(EmbeddingTable::Create(options)).value();
    std::vector<uint64_t> ids(kBatch);
    std::vector<float> grads(kBatch * kDim, 0.0f);
    for (int64_t start = 0; start < rows; start += kBatch) {
      const int64_t n = std::min<int64_t>(kBatch, rows - start);
      for (int64_t i = 0; i < n; ++i) {
        ids[i] = static_cast<uint64_t>(start + i);
      }
      table->ApplyGradients(std::span(ids).first(n), std::span(grads).first(n * kDim), 0.0f, 0);
    }
    cached_rows = rows;
    cached_kind = kind;
  }
  return *table;
}

void BM_Update(benchmark::State& state) {
  const int64_t rows = state.range(0);
  const auto kind = static_cast<OptimizerKind>(state.range(1));
  EmbeddingTable& table = SharedTable(rows, kind);
  base::Rng rng(5);
  std::vector<float> grads(kBatch * kDim);
  for (float& g : grads) {
    g = static_cast<float>(rng.Normal() * 1e-3);
  }
  const std::vector<uint64_t> ids = RandomIds(rows, 7);
  size_t offset = 0;
  for (auto _ : state) {
    table.ApplyGradients(std::span(ids).subspan(offset, kBatch), grads, 1e-3f, 1);
    offset = (offset + kBatch) % kIdPool;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  state.counters["bytes_per_row"] = static_cast<double>(table.bytes_per_row());
  state.counters["table_GB"] = static_cast<double>(table.memory_bytes()) / 1e9;
  state.SetLabel(std::string(OptimizerKindName(kind)));
}

void BM_Lookup(benchmark::State& state) {
  const int64_t rows = state.range(0);
  EmbeddingTable& table = SharedTable(rows, static_cast<OptimizerKind>(state.range(1)));
  const std::vector<uint64_t> ids = RandomIds(rows, 11);
  std::vector<float> out(kDim);
  size_t offset = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kBatch; ++i) {
      table.Lookup(ids[offset + i], out);
      benchmark::DoNotOptimize(out.data());
    }
    offset = (offset + kBatch) % kIdPool;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
}

void BM_LookupBatch(benchmark::State& state) {
  const int64_t rows = state.range(0);
  EmbeddingTable& table = SharedTable(rows, static_cast<OptimizerKind>(state.range(1)));
  const std::vector<uint64_t> ids = RandomIds(rows, 11);
  std::vector<float> out(kBatch * kDim);
  size_t offset = 0;
  for (auto _ : state) {
    table.LookupBatch(std::span(ids).subspan(offset, kBatch), out);
    benchmark::DoNotOptimize(out.data());
    offset = (offset + kBatch) % kIdPool;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
}

// The bare optimizer kernel (no hashing, no lock) on a contiguous 10k-row array, random rows.
void BM_Kernel(benchmark::State& state) {
  const auto kind = static_cast<OptimizerKind>(state.range(0));
  constexpr size_t kRows = 10'000;
  RowOptimizer optimizer(OptimizerOptions{.kind = kind}, kDim);
  const size_t stride = kDim + optimizer.state_floats();
  std::vector<float> table(kRows * stride, 0.01f);
  std::vector<float> grad(kDim, 1e-3f);
  const std::vector<uint64_t> ids = RandomIds(kRows, 3);
  size_t offset = 0;
  for (auto _ : state) {
    float* row = table.data() + ids[offset] * stride;
    optimizer.ApplyGradient(std::span(row, kDim), std::span(row + kDim, stride - kDim), grad,
                            1e-3f);
    offset = (offset + 1) % kIdPool;
  }
  benchmark::DoNotOptimize(table.data());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(OptimizerKindName(kind)));
}
BENCHMARK(BM_Kernel)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

constexpr int64_t kSmall = 10'000;
constexpr int64_t kLarge = 10'000'000;

// Grouped by table so each 10M-row table is built once.
BENCHMARK(BM_Update)->Args({kSmall, 0})->Args({kSmall, 1})->Args({kSmall, 2})->Args({kSmall, 3});
BENCHMARK(BM_Lookup)->Args({kSmall, 3});
BENCHMARK(BM_LookupBatch)->Args({kSmall, 3});
BENCHMARK(BM_Update)->Args({kLarge, 0});
BENCHMARK(BM_Lookup)->Args({kLarge, 0});
BENCHMARK(BM_LookupBatch)->Args({kLarge, 0});
BENCHMARK(BM_Update)->Args({kLarge, 1});
BENCHMARK(BM_Update)->Args({kLarge, 2});

}  // namespace
}  // namespace flywheel::embedding

BENCHMARK_MAIN();
