#include "model/user_state.h"

#include <string>

#include "flywheel/result.h"

namespace flywheel::model {

void UserState::Add(const data::Interaction& event) {
  ++num_events_;
  recent_.push_back(HistoryEntry{.item = event.item,
                                 .value = event.value,
                                 .ts_ms = event.ts_ms,
                                 .weight = event.weight,
                                 .type = event.type});
  if (recent_.size() > capacity_) {
    recent_.pop_front();
  }
  if (seen_.insert(event.item).second) {
    seen_order_.push_back(event.item);
  }
}

UserState& UserStateStore::Get(UserIdx user) {
  while (user >= states_.size()) {
    states_.emplace_back(capacity_);
  }
  return states_[user];
}

const UserState& UserStateStore::Find(UserIdx user) const {
  return user < states_.size() ? states_[user] : empty_;
}

void UserState::Save(base::ByteWriter* out) const {
  out->Put<uint64_t>(num_events_);
  out->Put<uint64_t>(recent_.size());
  for (const HistoryEntry& e : recent_) {
    out->Put(e.item);
    out->Put(e.ts_ms);
    out->Put(e.weight);
    out->Put(e.type);
  }
  out->PutVector(seen_order_);
}

Status UserState::Load(base::ByteReader* in) {
  uint64_t num_events = 0;
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&num_events, "user event count"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "user history length"));
  if (n > capacity_ || n > num_events) {
    return in->Error("user history length " + std::to_string(n) + " is invalid");
  }
  recent_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    HistoryEntry e;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&e.item, "history item"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&e.ts_ms, "history time"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&e.weight, "history weight"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&e.type, "history type"));
    recent_.push_back(e);
  }
  FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&seen_order_, "seen items"));
  seen_.clear();
  for (ItemIdx item : seen_order_) {
    if (!seen_.insert(item).second) {
      return in->Error("repeated seen item");
    }
  }
  num_events_ = static_cast<int64_t>(num_events);
  return Status::Ok();
}

void UserState::SaveValues(base::ByteWriter* out) const {
  out->Put<uint64_t>(recent_.size());
  for (const HistoryEntry& e : recent_) {
    out->Put(e.value);
  }
}

Status UserState::LoadValues(base::ByteReader* in) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "user value count"));
  if (n != recent_.size()) {
    return in->Error("user value count " + std::to_string(n) + " differs from the history's " +
                     std::to_string(recent_.size()));
  }
  for (HistoryEntry& e : recent_) {
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&e.value, "history value"));
  }
  return Status::Ok();
}

void UserStateStore::Clear(UserIdx user) {
  if (user < states_.size()) {
    states_[user] = UserState(capacity_);
  }
}

void UserStateStore::Save(base::ByteWriter* out) const {
  out->Put<uint64_t>(capacity_);
  out->Put<uint64_t>(states_.size());
  for (const UserState& state : states_) {
    state.Save(out);
  }
}

Status UserStateStore::Load(base::ByteReader* in) {
  uint64_t capacity = 0;
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&capacity, "user state capacity"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "user count"));
  if (capacity != capacity_) {
    return in->Error("user state capacity " + std::to_string(capacity) + " differs from " +
                     std::to_string(capacity_));
  }
  if (n > in->remaining() / (2 * sizeof(uint64_t))) {
    return in->Error("user count " + std::to_string(n) + " exceeds the data");
  }
  states_.clear();
  for (uint64_t i = 0; i < n; ++i) {
    states_.emplace_back(capacity_);
  }
  for (UserState& state : states_) {
    FLYWHEEL_RETURN_IF_ERROR(state.Load(in));
  }
  return Status::Ok();
}

void UserStateStore::SaveValues(base::ByteWriter* out) const {
  out->Put<uint64_t>(states_.size());
  for (const UserState& state : states_) {
    state.SaveValues(out);
  }
}

Status UserStateStore::LoadValues(base::ByteReader* in) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "user count"));
  if (n != states_.size()) {
    return in->Error("user values for " + std::to_string(n) + " users, states for " +
                     std::to_string(states_.size()));
  }
  for (UserState& state : states_) {
    FLYWHEEL_RETURN_IF_ERROR(state.LoadValues(in));
  }
  return Status::Ok();
}

}  // namespace flywheel::model
