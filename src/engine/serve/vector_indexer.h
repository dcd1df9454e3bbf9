// VectorIndexer: keeps one ANN index per vector model up to date (doc/engine.md, "Vector
// indexes"; the index: serve/vector_index.h, doc/ann.md). An index is created once its model
// knows `ann_min_items` items, built at full speed until it covers the catalogue, then refreshed
// from the items the learner marked, using at most about a tenth of a core.
//
// Threads: its own indexer thread (Start/Stop); MarkDirty from the learner thread; SearchFor and
// the counters from request threads (the index pointer is published once, with release order).
// It reads the models under the learned state's shared lock.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "engine/learn/learned_state.h"
#include "engine/serve/vector_index.h"

namespace flywheel::engine {

class VectorIndexer {
 public:
  VectorIndexer(LearnedState* state, const PipelineOptions& options);
  ~VectorIndexer();  // Stop()
  VectorIndexer(const VectorIndexer&) = delete;
  VectorIndexer& operator=(const VectorIndexer&) = delete;

  // Sizes the indexes to the state's models (created by then) and starts the thread when some
  // model has vectors and the options ask for an index. Before any reader or the learner runs.
  void Start();
  void Stop();

  // Learner thread: `item`'s vectors may have moved (every model's index).
  void MarkDirty(ItemIdx item);
  // Every vector of model `which` moved (a replaced model): items [0, items) are re-indexed.
  void MarkAllDirty(size_t which, size_t items);
  // The index a request may use for model `which`, currently `model` (null: exact scan).
  // REQUIRES: the state's lock held (the caller read `model` under it).
  const VectorSearch* SearchFor(size_t which, const model::Recommender& model) const;

  uint64_t indexed_items() const;
  uint64_t upserts() const;

 private:
  void Loop();
  // One pass over the models; returns the items examined.
  size_t RefreshOnce();

  LearnedState* const state_;
  const PipelineOptions& options_;
  // By model (null: none yet, or the model has no vectors). Published once by the indexer
  // thread; then shared by readers.
  std::vector<std::atomic<ItemVectorIndex*>> published_;
  std::vector<std::unique_ptr<ItemVectorIndex>> indexes_;  // indexer thread only
  std::thread thread_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
};

}  // namespace flywheel::engine
