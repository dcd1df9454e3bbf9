#include "data/id_map.h"

#include "base/check.h"

namespace flywheel::data {

uint32_t IdMap::GetOrAdd(std::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) {
    return it->second;
  }
  FLYWHEEL_CHECK(ids_.size() < UINT32_MAX - 1) << "id map full";
  const auto index = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back(id);
  index_.emplace(ids_.back(), index);
  return index;
}

std::optional<uint32_t> IdMap::Find(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace flywheel::data
