// IdIndex: open-addressing hash index from a 64-bit id to a row slot (uint32), linear probing,
// backward-shift deletion (no tombstones, so lookups never slow down after many evictions).
// Capacity is a power of two; the load factor is kept <= 1/2 by doubling. Every id is stored in
// full, so two ids never share an entry (collisionless).
// Thread safety: none; EmbeddingTable guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "embedding/internal/slab_store.h"

namespace flywheel::embedding::internal {

class IdIndex {
 public:
  static constexpr uint32_t kNoSlot = 0xFFFFFFFFu;

  IdIndex();

  // Slot of `id`, or kNoSlot.
  uint32_t Find(uint64_t id) const;
  // REQUIRES: id not present, slot != kNoSlot.
  void Insert(uint64_t id, uint32_t slot);
  // Hints the CPU to fetch the index entry where the probe for `id` starts (batch pipelining).
  void Prefetch(uint64_t id) const { __builtin_prefetch(&entries_[Home(id)]); }
  // Removes `id`; returns false if it was not present.
  bool Erase(uint64_t id);

  size_t size() const { return size_; }
  size_t capacity() const { return mask_ + 1; }
  size_t memory_bytes() const { return capacity() * sizeof(Entry); }
  static constexpr size_t kEntryBytes = 16;

 private:
  struct Entry {
    uint64_t id;
    uint32_t slot;  // kNoSlot: empty
    uint32_t unused;
  };
  static_assert(sizeof(Entry) == kEntryBytes);

  size_t Home(uint64_t id) const;
  void Grow();
  // Replaces the entries by `capacity` empty ones (huge pages when large).
  void Reset(size_t capacity);

  std::unique_ptr<Entry[], FreeDeleter> entries_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace flywheel::embedding::internal
