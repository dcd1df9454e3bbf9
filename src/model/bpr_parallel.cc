// Bpr::HogwildPasses: Fit's epochs over options().threads threads (bpr.h explains the scheme).
//
// Each epoch the writer's Rng shuffles the events; thread t takes the t-th contiguous shard and
// runs the ordinary step code with its own Worker (Rng seeded from the writer's, scratch, step
// count). Shared state touched by the threads: the three EmbeddingTables (their own locks make
// each row update atomic) and, read-only, the item statistics, reservoir and user states. The
// scoring mirror is not refreshed by the threads (workers have mirror=false); it is rebuilt
// from the item table once all passes are done.

#include <algorithm>
#include <numeric>
#include <thread>
#include <vector>

#include "model/bpr.h"

namespace flywheel::model {

void Bpr::HogwildPasses(std::span<const data::Interaction> history,
                        std::span<const Context> contexts, const UserStateStore& users) {
  const auto threads = static_cast<size_t>(options_.threads);
  std::vector<Worker> workers;
  workers.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back(worker_.rng.Next(), options_.dim);
    workers.back().step_base = worker_.steps + t;
    workers.back().stride = threads;
    workers.back().mirror = false;
  }
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    Shuffle(order);
    const size_t shard = (order.size() + threads - 1) / threads;
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      const size_t begin = std::min(order.size(), t * shard);
      const size_t end = std::min(order.size(), begin + shard);
      pool.emplace_back([&, t, begin, end] {
        for (size_t n = begin; n < end; ++n) {
          const data::Interaction& event = history[order[n]];
          Train(workers[t], event, contexts[order[n]], &users.Find(event.user), 0);
        }
      });
    }
    for (std::thread& thread : pool) {
      thread.join();
    }
  }
  for (const Worker& w : workers) {
    worker_.steps += w.steps;
  }
  RebuildMirror();
}

}  // namespace flywheel::model
