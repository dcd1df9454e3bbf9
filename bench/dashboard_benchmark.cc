// The server-side cost of the dashboard's polls when the history is full (one hour, 1,800
// samples): the JSON of GET /v1/stats/history built and serialised as the route does
// (StatsHistory::ToJson().dump()). bench/results/dashboard.md relates it to the overview's
// polling (one history request every 5 s).
//   build/release/bin/flywheel_dashboard_benchmark
#include <string>

#include <benchmark/benchmark.h>

#include "server/stats_history.h"

namespace flywheel::server {
namespace {

void BM_FullHistoryJson(benchmark::State& state) {
  StatsHistory history;
  for (size_t i = 0; i < history.capacity(); ++i) {
    StatsSample s;
    s.t_ms = 1'765'040'000'000 + static_cast<int64_t>(i) * 2000;
    s.events_per_s = 512.5 + static_cast<double>(i % 97);
    s.recommendations_per_s = 40.0 + static_cast<double>(i % 13) / 7.0;
    s.recommend_p50_ms = 0.41 + static_cast<double>(i % 7) / 100.0;
    s.recommend_p99_ms = 2.2 + static_cast<double>(i % 11) / 10.0;
    s.freshness_p99_ms = 5.9 + static_cast<double>(i % 5) / 3.0;
    s.live_hr10 = 0.083 + static_cast<double>(i % 17) / 1000.0;
    history.Add(s);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = history.ToJson().dump();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_FullHistoryJson)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace flywheel::server

BENCHMARK_MAIN();
