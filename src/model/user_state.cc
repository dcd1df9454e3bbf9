#include "model/user_state.h"

namespace flywheel::model {

void UserState::Add(const data::Interaction& event) {
  ++num_events_;
  recent_.push_back(HistoryEntry{event.item, event.ts_ms, event.weight, event.type});
  if (recent_.size() > capacity_) {
    recent_.pop_front();
  }
  if (seen_.insert(event.item).second) {
    seen_order_.push_back(event.item);
  }
}

UserState& UserStateStore::Get(UserIdx user) {
  if (user >= states_.size()) {
    states_.resize(static_cast<size_t>(user) + 1, UserState(capacity_));
  }
  return states_[user];
}

const UserState& UserStateStore::Find(UserIdx user) const {
  return user < states_.size() ? states_[user] : empty_;
}

}  // namespace flywheel::model
