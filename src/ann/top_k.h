// TopK: keeps the k best Neighbors seen (BetterNeighbor order) in a bounded heap whose front is
// the worst kept one. Deterministic: the result depends only on the set of pushed neighbors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "ann/ann_index.h"

namespace flywheel::ann {

class TopK {
 public:
  // Uses `*storage` (cleared) as the heap, so callers can reuse the output vector's memory.
  TopK(size_t k, std::vector<Neighbor>* storage) : k_(k), heap_(storage) { heap_->clear(); }

  // True if a neighbor (score, id) would be kept now: check before calling the filter.
  bool Admits(float score, uint32_t id) const {
    return heap_->size() < k_ || (k_ > 0 && BetterNeighbor({id, score}, heap_->front()));
  }
  // REQUIRES: Admits(n.score, n.id).
  void Push(const Neighbor& n) {
    if (heap_->size() == k_) {
      std::pop_heap(heap_->begin(), heap_->end(), BetterNeighbor);
      heap_->back() = n;
    } else {
      heap_->push_back(n);
    }
    std::push_heap(heap_->begin(), heap_->end(), BetterNeighbor);
  }
  size_t size() const { return heap_->size(); }
  // Sorts the kept neighbors best first, in place in the storage vector.
  void Finish() { std::sort_heap(heap_->begin(), heap_->end(), BetterNeighbor); }

 private:
  size_t k_;
  std::vector<Neighbor>* heap_;
};

}  // namespace flywheel::ann
