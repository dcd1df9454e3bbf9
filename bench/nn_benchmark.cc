// nn kernels and the sasrec model (results and analysis: bench/results/sasrec.md).
//   build/release/bin/flywheel_nn_benchmark --benchmark_filter=...
// Gemm*: C = A B (row-major float32) through OpenBLAS (single-threaded) vs Eigen 3.4 (Map of
// row-major matrices, product into a preallocated matrix) on the shapes SASRec runs: arguments
// {m, n, k}. Sasrec*: the model on a synthetic catalogue of 3,700 items with random
// sequences: batch training (sequences/s), per-event online Observe and one-user Recommend.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include <benchmark/benchmark.h>

#include "base/random.h"
#include "model/sasrec.h"
#include "nn/fp_env.h"
#include "nn/gemm.h"

namespace flywheel {
namespace {

constexpr ItemIdx kCatalogue = 3700;

std::vector<float> Random(size_t n, uint64_t seed) {
  base::Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) {
    x = static_cast<float>(rng.Normal());
  }
  return v;
}

void SetFlops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Arguments: {m, n, k, op} with op 0: C = A B, 1: C = A^T B, 2: C = A B^T.
void GemmShapes(benchmark::internal::Benchmark* b) {
  b->Args({6400, 192, 64, 0});   // fused QKV projection, batch 128 x L 50, d 64
  b->Args({6400, 64, 64, 0});    // output / FFN projections
  b->Args({64, 192, 6400, 1});   // QKV weight gradient (X^T dY)
  b->Args({6400, 64, 192, 2});   // QKV input gradient (dY W^T)
  b->Args({50, 50, 64, 2});      // attention scores of one sequence (Q K^T)
  b->Args({50, 64, 50, 0});      // attention output of one sequence (P V)
  b->Args({50, 64, 50, 1});      // attention backward (P^T dO)
  b->Args({3200, 3700, 64, 2});  // full-softmax logits, half a batch per thread
  b->Args({256, 3700, 64, 2});   // full-softmax logits of one ~256-token training chunk
  b->Args({256, 64, 3700, 0});   // its d(loss)/d(hidden): dlogits x item table
  b->Args({3700, 64, 256, 1});   // its item-table gradient: dlogits^T x hidden
  b->Args({1, 3700, 64, 2});     // serving: one user over the catalogue
  b->Args({51, 64, 64, 0});      // online step projections
}

template <bool kOpenBlas>
void BM_Gemm(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const int k = static_cast<int>(state.range(2));
  const bool ta = state.range(3) == 1;
  const bool tb = state.range(3) == 2;
  auto a = Random(static_cast<size_t>(m) * k, 1);
  auto b = Random(static_cast<size_t>(k) * n, 2);
  std::vector<float> c(static_cast<size_t>(m) * n);
  const int lda = ta ? m : k;
  const int ldb = tb ? k : n;
  for (auto _ : state) {
    if (kOpenBlas) {
      nn::GemmOpenBlas(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n);
    } else {
      nn::Gemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n);
    }
    benchmark::DoNotOptimize(c.data());
  }
  SetFlops(state, 2.0 * m * n * k);
}
// Gemm(): the AVX-512 kernel where the CPU has it (m > 1); GemmOpenBlas: OpenBLAS always.
void BM_Gemm(benchmark::State& state) {
  BM_Gemm<false>(state);
}
void BM_GemmOpenBlas(benchmark::State& state) {
  BM_Gemm<true>(state);
}
BENCHMARK(BM_Gemm)->Apply(GemmShapes);
BENCHMARK(BM_GemmOpenBlas)->Apply(GemmShapes);

// The attention output P V of one sequence (50 x 64 x 50) when a quarter of P's entries are
// subnormal (probabilities of far-off positions in trained attention), without (0) and with
// (1) nn::ScopedFlushDenormals: the cost of microcode assists (nn/fp_env.h).
void BM_GemmSubnormal(benchmark::State& state) {
  const int m = 50, n = 64, k = 50;
  auto a = Random(static_cast<size_t>(m) * k, 1);
  for (size_t i = 0; i < a.size(); i += 4) {
    a[i] = 1e-39f;
  }
  auto b = Random(static_cast<size_t>(k) * n, 2);
  std::vector<float> c(static_cast<size_t>(m) * n);
  std::unique_ptr<nn::ScopedFlushDenormals> flush;
  if (state.range(0) == 1) {
    flush = std::make_unique<nn::ScopedFlushDenormals>();
  }
  for (auto _ : state) {
    nn::Gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  SetFlops(state, 2.0 * m * n * k);
}
BENCHMARK(BM_GemmSubnormal)->Arg(0)->Arg(1);

void BM_GemmEigen(benchmark::State& state) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (state.range(3) != 0) {
    state.SkipWithError("Eigen: C = A B shapes only");
    return;
  }
  const int m = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  const int k = static_cast<int>(state.range(2));
  auto a = Random(static_cast<size_t>(m) * k, 1);
  auto b = Random(static_cast<size_t>(k) * n, 2);
  std::vector<float> c(static_cast<size_t>(m) * n);
  Eigen::Map<const RowMajor> ma(a.data(), m, k);
  Eigen::Map<const RowMajor> mb(b.data(), k, n);
  Eigen::Map<RowMajor> mc(c.data(), m, n);
  for (auto _ : state) {
    mc.noalias() = ma * mb;
    benchmark::DoNotOptimize(c.data());
  }
  SetFlops(state, 2.0 * m * n * k);
}
BENCHMARK(BM_GemmEigen)->Apply(GemmShapes);

model::SasrecOptions BenchOptions(int threads, model::SasrecLoss loss) {
  model::SasrecOptions o;
  o.encoder.dim = 64;
  o.encoder.heads = 1;
  o.encoder.blocks = 2;
  o.encoder.max_len = 50;
  o.loss = loss;
  o.negatives = 1;
  o.threads = threads;
  o.replay = 1;
  return o;
}

// A model whose catalogue has kCatalogue known items, and `count` random sequences of 51 items.
std::unique_ptr<model::Sasrec> MakeModel(const model::SasrecOptions& o) {
  auto m = std::move(*model::Sasrec::Create(o));
  std::vector<data::Interaction> history;
  for (ItemIdx i = 0; i < kCatalogue; ++i) {
    data::Interaction e;
    e.user = i;  // one-item users: Fit only registers the items (no sequence to train on)
    e.item = i;
    history.push_back(e);
  }
  auto st = m->Fit(history);
  (void)st;
  return m;
}

std::vector<model::Sasrec::Example> RandomExamples(int count, int length, uint64_t seed) {
  base::Rng rng(seed);
  std::vector<model::Sasrec::Example> out(count);
  for (auto& e : out) {
    for (int t = 0; t < length; ++t) {
      e.items.push_back(static_cast<ItemIdx>(rng.Uniform(kCatalogue)));
    }
  }
  return out;
}

// Arguments: {batch, threads, loss (0 softmax, 1 sampled, 2 bce)}. items/s = sequences/s.
void BM_SasrecTrainStep(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const auto loss = static_cast<model::SasrecLoss>(state.range(2));
  auto m = MakeModel(BenchOptions(static_cast<int>(state.range(1)), loss));
  const auto examples = RandomExamples(batch, 51, 5);
  std::vector<const model::Sasrec::Example*> ptrs;
  for (const auto& e : examples) {
    ptrs.push_back(&e);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(m->TrainStep(ptrs, m->options().threads, 1e-3f));
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_SasrecTrainStep)
    ->Args({128, 2, 2})
    ->Args({128, 1, 2})
    ->Args({1, 1, 2})
    ->Args({128, 2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Per-event online Observe (one step on the newest position of a 50-item history + 1 replayed
// sequence); reports p50/p99 of individual calls in microseconds. Argument: loss.
void BM_SasrecObserve(benchmark::State& state) {
  auto o = BenchOptions(1, static_cast<model::SasrecLoss>(state.range(0)));
  auto m = MakeModel(o);
  base::Rng rng(6);
  model::UserState user;
  for (int t = 0; t < 50; ++t) {
    data::Interaction e;
    e.item = static_cast<ItemIdx>(rng.Uniform(kCatalogue));
    user.Add(e);
  }
  std::vector<double> us;
  for (auto _ : state) {
    data::Interaction e;
    e.item = static_cast<ItemIdx>(rng.Uniform(kCatalogue));
    const auto start = std::chrono::steady_clock::now();
    m->Observe(e, user);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
    user.Add(e);
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
}
BENCHMARK(BM_SasrecObserve)->Arg(2)->Arg(0)->Unit(benchmark::kMicrosecond);

// One user's Recommend (k = 10) over the 3,700-item catalogue with a 50-item history.
void BM_SasrecRecommend(benchmark::State& state) {
  auto m = MakeModel(BenchOptions(1, model::SasrecLoss::kSoftmax));
  base::Rng rng(7);
  model::UserState user;
  for (int t = 0; t < static_cast<int>(state.range(0)); ++t) {
    data::Interaction e;
    e.item = static_cast<ItemIdx>(rng.Uniform(kCatalogue));
    user.Add(e);
  }
  model::RecommendRequest request;
  request.user_state = &user;
  std::vector<model::ScoredItem> out;
  for (auto _ : state) {
    m->Recommend(request, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SasrecRecommend)->Arg(50)->Arg(10)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flywheel

BENCHMARK_MAIN();
