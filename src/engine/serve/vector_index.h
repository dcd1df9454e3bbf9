// ItemVectorIndex: the engine's ANN index over one model's item vectors (doc/engine.md,
// "Recommendation pipeline"; the index itself: doc/ann.md). The learner marks items whose
// vectors it changed (MarkDirty, cheap); an indexer thread calls Refresh, which copies the
// vectors of dirty and not-yet-indexed items under the engine's shared state lock and upserts
// those that moved by more than `move_threshold` (relative L2 change) since they were indexed:
// updating an HNSW node costs ~0.4 ms, so small moves are left to the pipeline's exact
// re-scoring of the candidates. Readers search it through the VectorSearch interface.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "ann/ann_index.h"
#include "base/mutex.h"
#include "base/rw_lock.h"
#include "engine/serve/pipeline.h"
#include "model/recommender.h"

namespace flywheel::engine {

class ItemVectorIndex : public VectorSearch {
 public:
  static Result<std::unique_ptr<ItemVectorIndex>> Create(const std::string& kind, uint32_t dim,
                                                         float move_threshold = 0.25f);

  // Learner thread: `item`'s vector may have changed.
  void MarkDirty(ItemIdx item);
  // Indexer thread: refreshes at most `budget` items (dirty ones first, then items never
  // indexed). `state_mu` guards the model (taken shared while vectors are copied). Returns the
  // number of items examined (0: nothing to do).
  size_t Refresh(const model::Recommender& model, base::RwLock& state_mu, size_t budget);
  // Every item the model knew at some point has been indexed once.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  size_t indexed() const { return index_->size(); }
  uint64_t upserts() const { return upserts_.load(std::memory_order_relaxed); }

  void Search(std::span<const float> query, int k, const std::function<bool(ItemIdx)>& allowed,
              std::vector<model::ScoredItem>* out) const override;

 private:
  ItemVectorIndex(std::unique_ptr<ann::AnnIndex> index, uint32_t dim, float move_threshold)
      : index_(std::move(index)), dim_(dim), move_threshold_(move_threshold) {}

  std::unique_ptr<ann::AnnIndex> index_;
  const uint32_t dim_;
  const float move_threshold_;
  base::Mutex dirty_mu_;
  std::vector<ItemIdx> dirty_ GUARDED_BY(dirty_mu_);
  std::vector<uint8_t> pending_ GUARDED_BY(dirty_mu_);  // 1 while in dirty_
  // Indexer thread only.
  std::vector<float> indexed_vectors_;
  std::vector<uint8_t> indexed_;
  ItemIdx scan_next_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> upserts_{0};
};

}  // namespace flywheel::engine
