// What recording impressions costs (issue 16 targets: <= 10 % of recommend latency, <= 64 log
// bytes per shown item): Engine::Recommend for k = 10 with record_impression off (the answer
// gets its id and is cached) and on (its `$impression` record is logged before the answer
// returns), over an itemknn engine of 2,000 users x 5,000 items (200k events). The counter
// `log_bytes_per_item` is the log's growth over the run divided by the items shown.
//   build/release/bin/flywheel_impression_benchmark [FLYWHEEL_BENCH_DURABILITY=sync]
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "flywheel/engine.h"

#include "base/random.h"

namespace flywheel {
namespace {

constexpr int kUsers = 2000;
constexpr int kItems = 5000;
constexpr int kK = 10;

uint64_t DirBytes(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      bytes += entry.file_size();
    }
  }
  return bytes;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<Engine> engine;
};

Fixture& Shared() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    f->dir = (std::filesystem::temp_directory_path() / "flywheel_impression_bench").string();
    std::filesystem::remove_all(f->dir);
    EngineOptions o;
    o.data_dir = f->dir;
    o.models = {ModelSpec{"itemknn", {}}};
    // interval:100 by default (acknowledged after write()); FLYWHEEL_BENCH_DURABILITY=sync
    // measures an fdatasync per recorded answer.
    const char* durability = std::getenv("FLYWHEEL_BENCH_DURABILITY");
    o.durability = durability != nullptr ? durability : "interval:100";
    o.snapshot_on_close = false;
    o.snapshot_every = 0;  // no automatic snapshot runs behind the measurement
    o.snapshot_interval_ms = 0;
    o.loop.seed = 1;
    f->engine = std::move(Engine::Open(o)).value();
    base::Rng rng(7);
    std::vector<Event> batch;
    uint64_t last = 0;
    for (int i = 0; i < 200'000; ++i) {
      const auto user = rng.Uniform(kUsers);
      // Zipf-like: squares favour low ids.
      const auto r = rng.Uniform(kItems);
      const auto item = r * r / kItems;
      batch.push_back(Event{"u" + std::to_string(user),
                            "i" + std::to_string(item),
                            "click",
                            1.0,
                            1'700'000'000'000 + i,
                            "",
                            {}});
      if (batch.size() == 1000) {
        last = f->engine->Ingest(batch).value().last_seq;
        batch.clear();
      }
    }
    (void)f->engine->WaitForApplied(last, 600'000);
    return f;
  }();
  return *fixture;
}

void BM_Recommend(benchmark::State& state) {
  Fixture& f = Shared();
  const bool record = state.range(0) != 0;
  const uint64_t before = DirBytes(f.dir + "/wal");
  uint64_t shown = 0;
  int n = 0;
  for (auto _ : state) {
    RecommendQuery q;
    q.user = "u" + std::to_string(n++ % kUsers);
    q.k = kK;
    q.record_impression = record;
    Result<RecommendResult> r = f.engine->Recommend(q);
    shown += r.value().items.size();
    benchmark::DoNotOptimize(r);
  }
  if (record && shown > 0) {
    state.counters["log_bytes_per_item"] =
        static_cast<double>(DirBytes(f.dir + "/wal") - before) / static_cast<double>(shown);
  }
}
BENCHMARK(BM_Recommend)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->MinTime(2.0);

}  // namespace
}  // namespace flywheel

BENCHMARK_MAIN();
