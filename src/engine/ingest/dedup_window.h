// DedupWindow: the engine's idempotency window (see flywheel/engine.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"

#include "base/serial.h"

namespace flywheel::engine {

// Event ids remembered for idempotency: the most recent `capacity` ids with their sequence
// numbers, in log order. The ids live in a ring (oldest evicted first); an open-addressing index
// (linear probing, load <= 1/2, backward-shift deletion) maps a 64-bit hash of an id to its ring
// position, and a hit is confirmed by comparing the stored id, so a hash collision can never
// drop a real event. About one cache miss per lookup, where a node-based map takes three or four.
class DedupWindow {
 public:
  explicit DedupWindow(size_t capacity) : capacity_(capacity) {}
  DedupWindow(const DedupWindow&) = delete;
  DedupWindow& operator=(const DedupWindow&) = delete;

  bool Contains(std::string_view id) const { return Find(id, Hash(id)) != kEmpty; }
  void Add(std::string_view id, uint64_t seq) {
    if (capacity_ == 0) {
      return;
    }
    const uint64_t h = Hash(id);
    if (Find(id, h) != kEmpty) {
      return;
    }
    if (ring_.size() < capacity_) {
      ring_.push_back(Entry{seq, h, std::string(id)});
      Insert(h, static_cast<uint32_t>(ring_.size() - 1));
      return;
    }
    // Full: evict the oldest (at head_) and reuse its slot.
    Erase(ring_[head_].hash, static_cast<uint32_t>(head_));
    ring_[head_] = Entry{seq, h, std::string(id)};
    Insert(h, static_cast<uint32_t>(head_));
    head_ = (head_ + 1) % capacity_;
  }
  void Clear() {
    ring_.clear();
    index_.clear();
    head_ = 0;
    used_ = 0;
  }
  // Ids with seq <= max_seq, oldest first.
  void Save(uint64_t max_seq, base::ByteWriter* out) const {
    uint64_t n = 0;
    ForEachOldestFirst([&](const Entry& e) { n += e.seq <= max_seq ? 1 : 0; });
    out->Put<uint64_t>(n);
    ForEachOldestFirst([&](const Entry& e) {
      if (e.seq <= max_seq) {
        out->Put<uint64_t>(e.seq);
        out->PutString(e.id);
      }
    });
  }
  Status Load(base::ByteReader* in) {
    Clear();
    uint64_t n = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "dedup count"));
    if (n > in->remaining() / (2 * sizeof(uint64_t))) {
      return in->Error("dedup count exceeds the data");
    }
    std::string id;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq = 0;
      FLYWHEEL_RETURN_IF_ERROR(in->Get(&seq, "dedup seq"));
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&id, "dedup id"));
      Add(id, seq);
    }
    return Status::Ok();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Entry {
    uint64_t seq;
    uint64_t hash;
    std::string id;
  };
  struct Slot {
    uint64_t hash = 0;
    uint32_t pos = kEmpty;
  };

  static uint64_t Hash(std::string_view id) {
    uint64_t h = std::hash<std::string_view>()(id);
    h ^= h >> 33;  // spread the bits used by the mask
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
  }
  size_t mask() const { return index_.size() - 1; }
  uint32_t Find(std::string_view id, uint64_t h) const {
    if (index_.empty()) {
      return kEmpty;
    }
    for (size_t i = h & mask();; i = (i + 1) & mask()) {
      const Slot& slot = index_[i];
      if (slot.pos == kEmpty) {
        return kEmpty;
      }
      if (slot.hash == h && ring_[slot.pos].id == id) {
        return slot.pos;
      }
    }
  }
  void Insert(uint64_t h, uint32_t pos) {
    if ((used_ + 1) * 2 > index_.size()) {
      Grow();
    }
    size_t i = h & mask();
    while (index_[i].pos != kEmpty) {
      i = (i + 1) & mask();
    }
    index_[i] = Slot{h, pos};
    ++used_;
  }
  void Erase(uint64_t h, uint32_t pos) {
    size_t i = h & mask();
    while (index_[i].pos != pos) {
      i = (i + 1) & mask();
    }
    // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
    size_t j = i;
    while (true) {
      j = (j + 1) & mask();
      if (index_[j].pos == kEmpty) {
        break;
      }
      const size_t home = index_[j].hash & mask();
      // Move j into the hole at i unless its home lies cyclically in (i, j].
      const bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!between) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = Slot{};
    --used_;
  }
  void Grow() {
    std::vector<Slot> old = std::move(index_);
    index_.assign(std::max<size_t>(64, old.size() * 2), Slot{});
    used_ = 0;
    for (const Slot& slot : old) {
      if (slot.pos != kEmpty) {
        size_t i = slot.hash & mask();
        while (index_[i].pos != kEmpty) {
          i = (i + 1) & mask();
        }
        index_[i] = slot;
        ++used_;
      }
    }
  }
  template <typename Fn>
  void ForEachOldestFirst(Fn&& fn) const {
    const size_t start = ring_.size() < capacity_ ? 0 : head_;
    for (size_t k = 0; k < ring_.size(); ++k) {
      fn(ring_[(start + k) % ring_.size()]);
    }
  }

  size_t capacity_;
  std::vector<Entry> ring_;
  size_t head_ = 0;  // oldest entry once the ring is full
  std::vector<Slot> index_;
  size_t used_ = 0;
};

}  // namespace flywheel::engine
