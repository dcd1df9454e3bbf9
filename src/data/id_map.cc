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
    if (forgotten(static_cast<uint32_t>(index))) {
      continue;
    }
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

void IdMap::Forget(uint32_t index) {
  FLYWHEEL_CHECK(index < ids_.size()) << "IdMap::Forget: index " << index << " out of range";
  if (forgotten(index)) {
    return;
  }
  const size_t mask = slots_.size() - 1;
  size_t hole = Probe(ids_[index], Hash(ids_[index]));
  FLYWHEEL_CHECK(slots_[hole].index == index) << "IdMap::Forget: index not in the table";
  // Backward-shift deletion keeps every remaining id reachable from its home slot without
  // tombstones: move later entries of the probe run into the hole when their home slot is not
  // cyclically between the hole and their position.
  for (size_t j = (hole + 1) & mask; slots_[j].index != kEmpty; j = (j + 1) & mask) {
    const size_t home = Hash(ids_[slots_[j].index]) & mask;
    const bool home_in_between =
        hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!home_in_between) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  ids_[index].clear();
  ids_[index].shrink_to_fit();
  if (forgotten_.size() <= index) {
    forgotten_.resize(index + 1, false);
  }
  forgotten_[index] = true;
}

void IdMap::Save(base::ByteWriter* out) const {
  out->Put<uint64_t>(ids_.size());
  for (const std::string& id : ids_) {
    out->PutString(id);
  }
  std::vector<uint32_t> forgotten;
  for (size_t i = 0; i < forgotten_.size(); ++i) {
    if (forgotten_[i]) {
      forgotten.push_back(static_cast<uint32_t>(i));
    }
  }
  out->Put<uint64_t>(forgotten.size());
  for (uint32_t index : forgotten) {
    out->Put<uint32_t>(index);
  }
}

Status IdMap::Load(base::ByteReader* in) {
  slots_.clear();
  ids_.clear();
  forgotten_.clear();
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "id count"));
  if (n > in->remaining() / sizeof(uint64_t) || n >= UINT32_MAX - 1) {
    return in->Error("id count " + std::to_string(n) + " exceeds the data");
  }
  std::vector<std::string> ids(n);
  for (uint64_t i = 0; i < n; ++i) {
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&ids[i], "id"));
  }
  uint64_t forgotten_count = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&forgotten_count, "forgotten id count"));
  if (forgotten_count > n || forgotten_count > in->remaining() / sizeof(uint32_t)) {
    return in->Error("forgotten id count " + std::to_string(forgotten_count) + " exceeds the data");
  }
  std::vector<bool> forgotten_flags(n, false);
  for (uint64_t i = 0, previous = 0; i < forgotten_count; ++i) {
    uint32_t index = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&index, "forgotten index"));
    if (index >= n || (i > 0 && index <= previous) || !ids[index].empty()) {
      return in->Error("bad forgotten index " + std::to_string(index));
    }
    forgotten_flags[index] = true;
    previous = index;
  }
  if (forgotten_count > 0) {
    forgotten_ = std::move(forgotten_flags);
  }
  ids_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (forgotten(static_cast<uint32_t>(i))) {
      ids_.emplace_back();
      continue;
    }
    if (GetOrAdd(ids[i]) != i) {
      return in->Error("repeated id '" + ids[i] + "'");
    }
  }
  return Status::Ok();
}

}  // namespace flywheel::data
