#include "data/id_map.h"

#include <algorithm>
#include <functional>

#include "flywheel/result.h"

#include "base/check.h"

namespace flywheel::data {

uint64_t IdMap::Hash(std::string_view id) {
  uint64_t h = std::hash<std::string_view>()(id);
  h ^= h >> 33;  // mix so that both the low (slot) and high (tag) bits are spread
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 33);
}

size_t IdMap::Probe(std::string_view id, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const auto tag = static_cast<uint32_t>(hash >> 32);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.index == kEmpty || (slot.tag == tag && ids_[slot.index] == id)) {
      return i;
    }
  }
}

void IdMap::Grow() {
  slots_.assign(std::max<size_t>(16, slots_.size() * 2), Slot{});
  const size_t mask = slots_.size() - 1;
  for (size_t index = 0; index < ids_.size(); ++index) {
    const uint64_t hash = Hash(ids_[index]);
    size_t i = hash & mask;
    while (slots_[i].index != kEmpty) {
      i = (i + 1) & mask;
    }
    slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(index)};
  }
}

uint32_t IdMap::GetOrAdd(std::string_view id) {
  if ((ids_.size() + 1) * 2 > slots_.size()) {
    Grow();
  }
  const uint64_t hash = Hash(id);
  const size_t i = Probe(id, hash);
  if (slots_[i].index != kEmpty) {
    return slots_[i].index;
  }
  FLYWHEEL_CHECK(ids_.size() < UINT32_MAX - 1) << "id map full";
  const auto index = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back(id);
  slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), index};
  return index;
}

std::optional<uint32_t> IdMap::Find(std::string_view id) const {
  if (slots_.empty()) {
    return std::nullopt;
  }
  const Slot& slot = slots_[Probe(id, Hash(id))];
  if (slot.index == kEmpty) {
    return std::nullopt;
  }
  return slot.index;
}

void IdMap::Save(base::ByteWriter* out) const {
  out->Put<uint64_t>(ids_.size());
  for (const std::string& id : ids_) {
    out->PutString(id);
  }
}

Status IdMap::Load(base::ByteReader* in) {
  slots_.clear();
  ids_.clear();
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "id count"));
  if (n > in->remaining() / sizeof(uint64_t) || n >= UINT32_MAX - 1) {
    return in->Error("id count " + std::to_string(n) + " exceeds the data");
  }
  ids_.reserve(n);
  std::string id;
  for (uint64_t i = 0; i < n; ++i) {
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&id, "id"));
    if (GetOrAdd(id) != i) {
      return in->Error("repeated id '" + id + "'");
    }
  }
  return Status::Ok();
}

}  // namespace flywheel::data
