// FlatIndex: exact maximum-inner-product search by scanning every present item. The oracle for
// HnswIndex (tests, recall tool) and the right index for small catalogues (a scan of 10k x 64
// takes tens of microseconds).
//
// Storage: items live in chunks of kChunkItems that never move once allocated; inside a chunk,
// panels of 8 interleaved items (kernels.h) that PanelDot scores with 8 vector lanes. A presence
// flag per id acts as the tombstone: Remove clears it and the slot is reused if the id comes
// back. Memory: (largest id + 1) rounded up to kChunkItems, times dim() floats.
//
// Thread safety (AnnIndex contract): Search takes the shared lock once per chunk, not for the
// whole scan, so the writer waits at most for one chunk scan (~1024 * dim multiply-adds) of each
// running search, and a search overlapping a write sees, per chunk, the state before or after
// it. Upsert/Remove hold the exclusive lock for O(dim) work (a new chunk is allocated before the
// lock is taken).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ann/ann_index.h"
#include "base/rw_lock.h"
#include "base/thread_annotations.h"

namespace flywheel::ann {

class FlatIndex final : public AnnIndex {
 public:
  static constexpr size_t kChunkItems = 1024;

  // REQUIRES: dim > 0 (MakeAnnIndex checks).
  explicit FlatIndex(uint32_t dim);

  uint32_t dim() const override { return dim_; }
  Status Upsert(uint32_t id, std::span<const float> vector) override;
  bool Remove(uint32_t id) override;
  Status Search(std::span<const float> query, int k, IdFilter filter,
                std::vector<Neighbor>* out) const override;
  size_t size() const override { return live_.load(std::memory_order_relaxed); }

 private:
  struct Chunk {
    std::unique_ptr<float[]> panels;     // kChunkItems * dim_, panel layout
    std::unique_ptr<uint8_t[]> present;  // kChunkItems flags
  };

  Chunk NewChunk() const;
  // chunks_ for the writer thread (Upsert/Remove), without the lock: only that thread changes
  // chunks_, so its own unlocked reads are race-free.
  const std::vector<Chunk>& WriterChunks() const NO_THREAD_SAFETY_ANALYSIS { return chunks_; }

  const uint32_t dim_;
  mutable base::RwLock mu_;
  std::vector<Chunk> chunks_ GUARDED_BY(mu_);  // grown and written under the exclusive lock
  std::atomic<size_t> live_{0};
};

}  // namespace flywheel::ann
