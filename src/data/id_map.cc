#include "data/id_map.h"

#include "flywheel/result.h"

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

void IdMap::Save(base::ByteWriter* out) const {
  out->Put<uint64_t>(ids_.size());
  for (const std::string& id : ids_) {
    out->PutString(id);
  }
}

Status IdMap::Load(base::ByteReader* in) {
  index_.clear();
  ids_.clear();
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "id count"));
  if (n > in->remaining() / sizeof(uint64_t) || n >= UINT32_MAX - 1) {
    return in->Error("id count " + std::to_string(n) + " exceeds the data");
  }
  ids_.reserve(n);
  index_.reserve(n);
  std::string id;
  for (uint64_t i = 0; i < n; ++i) {
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&id, "id"));
    if (!index_.emplace(id, static_cast<uint32_t>(i)).second) {
      return in->Error("repeated id '" + id + "'");
    }
    ids_.push_back(id);
  }
  return Status::Ok();
}

}  // namespace flywheel::data
