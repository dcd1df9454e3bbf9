#include "embedding/internal/id_index.h"

#include <memory>
#include <new>

#include "base/check.h"
#include "base/random.h"

namespace flywheel::embedding::internal {
namespace {
constexpr size_t kInitialCapacity = 16;
}  // namespace

IdIndex::IdIndex() {
  Reset(kInitialCapacity);
}

void IdIndex::Reset(size_t capacity) {
  auto* entries = static_cast<Entry*>(AllocateMaybeHuge(capacity * sizeof(Entry)));
  if (entries == nullptr) {
    throw std::bad_alloc();  // like any container running out of memory
  }
  std::uninitialized_fill_n(entries, capacity, Entry{0, kNoSlot, 0});
  entries_.reset(entries);
  mask_ = capacity - 1;
  size_ = 0;
}

size_t IdIndex::Home(uint64_t id) const {
  return static_cast<size_t>(base::Mix64(id)) & mask_;
}

uint32_t IdIndex::Find(uint64_t id) const {
  for (size_t pos = Home(id);; pos = (pos + 1) & mask_) {
    const Entry& entry = entries_[pos];
    if (entry.slot == kNoSlot) {
      return kNoSlot;
    }
    if (entry.id == id) {
      return entry.slot;
    }
  }
}

void IdIndex::Insert(uint64_t id, uint32_t slot) {
  FLYWHEEL_DCHECK(slot != kNoSlot && Find(id) == kNoSlot) << "embedding: bad index insert";
  if (2 * (size_ + 1) > capacity()) {
    Grow();
  }
  size_t pos = Home(id);
  while (entries_[pos].slot != kNoSlot) {
    pos = (pos + 1) & mask_;
  }
  entries_[pos] = Entry{id, slot, 0};
  ++size_;
}

bool IdIndex::Erase(uint64_t id) {
  size_t pos = Home(id);
  while (entries_[pos].id != id || entries_[pos].slot == kNoSlot) {
    if (entries_[pos].slot == kNoSlot) {
      return false;
    }
    pos = (pos + 1) & mask_;
  }
  // Backward shift: move later entries of the probe run into the hole when their home position
  // does not lie cyclically in (hole, next].
  size_t hole = pos;
  for (size_t next = (hole + 1) & mask_; entries_[next].slot != kNoSlot;
       next = (next + 1) & mask_) {
    const size_t home = Home(entries_[next].id);
    const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
    if (!stays) {
      entries_[hole] = entries_[next];
      hole = next;
    }
  }
  entries_[hole] = Entry{0, kNoSlot, 0};
  --size_;
  return true;
}

void IdIndex::Grow() {
  const size_t old_capacity = capacity();
  std::unique_ptr<Entry[], FreeDeleter> old = std::move(entries_);
  Reset(2 * old_capacity);
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].slot != kNoSlot) {
      Insert(old[i].id, old[i].slot);
    }
  }
}

}  // namespace flywheel::embedding::internal
