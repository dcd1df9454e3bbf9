// IdMap: external string id <-> dense index (0, 1, 2, ... in order of first insertion).
// An index is never reused: Forget() removes an id (its index then maps to the empty string, is
// marked forgotten, and the id, if seen again, gets a new index). Not thread-safe for mutation;
// const methods may run concurrently with each other (not with GetOrAdd). Layout: the ids in a
// vector (index -> id) and an open-addressing index (linear probing, load
// <= 1/2) of (32 hash bits, index) pairs, 8 bytes a slot: a lookup costs about one cache miss
// in the index plus one to confirm the id, against three or four in a node-based map (the
// engine's learner and recovery do two lookups per event).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/serial.h"

namespace flywheel::data {

class IdMap {
 public:
  // Returns the index of `id`, adding it if new.
  uint32_t GetOrAdd(std::string_view id);
  std::optional<uint32_t> Find(std::string_view id) const;
  // Removes the id of `index` (right to be forgotten): Find() no longer sees it and external()
  // returns "". No-op when already forgotten. REQUIRES: index < size().
  void Forget(uint32_t index);
  // True when `index` was forgotten. REQUIRES: index < size().
  bool forgotten(uint32_t index) const { return index < forgotten_.size() && forgotten_[index]; }
  // REQUIRES: index < size()
  const std::string& external(uint32_t index) const { return ids_[index]; }
  size_t size() const { return ids_.size(); }

  // Snapshot encoding: count:u64, the ids in index order ("" for a forgotten one), then
  // forgotten_count:u64 and the forgotten indices (u32, ascending). Load replaces the contents;
  // kCorruption on malformed bytes or a repeated id.
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);

 private:
  struct Slot {
    uint32_t tag = 0;  // high 32 bits of the hash
    uint32_t index = kEmpty;
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static uint64_t Hash(std::string_view id);
  // The slot holding `id`, or the empty slot where it would go. REQUIRES: !slots_.empty().
  size_t Probe(std::string_view id, uint64_t hash) const;
  void Grow();

  std::vector<Slot> slots_;
  std::vector<std::string> ids_;
  std::vector<bool> forgotten_;  // by index; may be shorter than ids_ (missing: false)
};

}  // namespace flywheel::data
