// SparseRow: a row of item weights (item index -> float) that is sparse while few items are in
// it and turns dense once a dense array would take less memory. Sparse: open addressing with
// linear probing, power-of-two capacity, load factor <= 0.5, no deletion. Dense: a float per
// item index up to the largest key. Both iterate contiguous memory; AddScaledTo() (the hot loop
// of ItemKNN scoring) is a vectorisable axpy in the dense form.
// Not thread-safe for mutation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "flywheel/types.h"

namespace flywheel::model {

class SparseRow {
 public:
  struct Slot {
    ItemIdx key = kNoItem;
    float value = 0.0f;
  };

  // Adds `delta` to the weight of `key` (inserting it with 0 first).
  void Add(ItemIdx key, float delta);
  // Replaces the row with `entries` (as Add of each, in one allocation: dense when a dense array
  // takes no more memory than the hash table their number needs, Add's rule). For loading a
  // snapshot: Add one by one re-grows the table or the dense array many times.
  void Assign(std::span<const Slot> entries);
  // 0 when absent.
  float Get(ItemIdx key) const;
  // Number of keys with an entry.
  size_t size() const { return size_; }
  bool dense() const { return !dense_.empty(); }

  // scores[key] += scale * weight for every entry with key < scores.size().
  void AddScaledTo(std::span<float> scores, float scale) const;

  // Calls fn(key, value) for every entry.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (dense()) {
      for (size_t key = 0; key < dense_.size(); ++key) {
        if (dense_[key] != 0.0f) {
          fn(static_cast<ItemIdx>(key), dense_[key]);
        }
      }
      return;
    }
    for (const Slot& slot : slots_) {
      if (slot.key != kNoItem) {
        fn(slot.key, slot.value);
      }
    }
  }

 private:
  static size_t Hash(ItemIdx key) { return static_cast<size_t>(key) * 0x9E3779B1u; }
  void Grow();
  void InsertSparse(ItemIdx key, float delta);
  void MakeDense();

  std::vector<Slot> slots_;
  std::vector<float> dense_;  // non-empty once dense
  ItemIdx max_key_ = 0;
  size_t size_ = 0;
};

}  // namespace flywheel::model
