// HnswIndex: approximate maximum-inner-product search on a hierarchical navigable small-world
// graph (hnswlib 0.6.2, Debian libhnswlib-dev; distance = -<a, b>). Parameters (AnnParams: m,
// ef_construction, ef_search, seed, initial_capacity) and measured recall: doc/ann.md.
//
// - Scores are exact: candidates are ranked by the graph's kernel, and the k returned are
//   rescored with FlatIndex's kernel from a copy of the vectors kept here (so an item has the
//   same score in both indexes).
// - Upsert of a present id moves its node (hnswlib updatePoint, which relinks its neighbours);
//   Upsert of a removed id revives its node. Capacity doubles (resizeIndex) when full.
// - Remove marks the node deleted (markDelete): the graph still routes through it, searches
//   never return it, and its memory is reused only if the same id is upserted again.
// - Filters: the graph is asked for a full beam (max(ef_search, k)) of candidates; while fewer
//   than a beam's worth pass the filter, it is asked again for more (by the inverse pass rate),
//   and once that would exceed nodes / 128 candidates the index scans all its vectors instead
//   (exact; as costly as FlatIndex). So k results come back whenever k present ids pass, a
//   filter passing half the items costs ~3x, and one passing <= ~10 % costs a full scan.
// - Determinism: one writer applies calls in order and hnswlib's level generator is seeded
//   (AnnParams::seed), so the same calls give the same graph and the same results.
//
// Thread safety: hnswlib's searchKnn reads link lists and deletion marks without locks, and
// addPoint/updatePoint/markDelete/resizeIndex write them (resizeIndex reallocates everything),
// so a search is only safe when no write runs. A writer-preferring reader-writer lock
// (base/rw_lock.h) gives exactly that: Search holds it shared for one graph search, Upsert/Remove
// hold it exclusively for one insertion (tens to hundreds of microseconds at the defaults) and
// readers queue behind a waiting writer. Measured cost: doc/ann.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ann/ann_index.h"

namespace flywheel::ann {

class HnswIndex final : public AnnIndex {
 public:
  // Returns kInvalidArgument if dim == 0, m < 2 or > 1024, ef_construction < 1,
  // ef_search < 1 or initial_capacity == 0; kResourceExhausted if hnswlib cannot allocate.
  static Result<std::unique_ptr<HnswIndex>> Create(uint32_t dim, const AnnParams& params);
  ~HnswIndex() override;
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  uint32_t dim() const override;
  Status Upsert(uint32_t id, std::span<const float> vector) override;
  bool Remove(uint32_t id) override;
  Status Search(std::span<const float> query, int k, IdFilter filter,
                std::vector<Neighbor>* out) const override;
  size_t size() const override;

  // Changes ef_search for later searches (the recall/latency knob; doc/ann.md). Returns
  // kInvalidArgument if ef_search < 1. Takes the exclusive lock: call it from the writer thread.
  Status SetEfSearch(int ef_search);

  // Graph nodes allocated (present and removed ids) and preallocated capacity.
  size_t nodes() const;
  size_t capacity() const;

 private:
  struct Impl;
  explicit HnswIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flywheel::ann
