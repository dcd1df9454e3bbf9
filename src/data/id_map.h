// IdMap: external string id <-> dense index (0, 1, 2, ... in order of first insertion).
// An index is never reused. Not thread-safe for mutation; const methods may run concurrently
// with each other (not with GetOrAdd).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/serial.h"

namespace flywheel::data {

class IdMap {
 public:
  // Returns the index of `id`, adding it if new.
  uint32_t GetOrAdd(std::string_view id);
  std::optional<uint32_t> Find(std::string_view id) const;
  // REQUIRES: index < size()
  const std::string& external(uint32_t index) const { return ids_[index]; }
  size_t size() const { return ids_.size(); }

  // Snapshot encoding: the ids in index order. Load replaces the contents; kCorruption on
  // malformed bytes or a repeated id.
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
  std::vector<std::string> ids_;
};

}  // namespace flywheel::data
