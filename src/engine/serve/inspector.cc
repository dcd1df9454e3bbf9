#include "engine/serve/inspector.h"

#include <cmath>

namespace flywheel::engine {

Result<UserDetail> Inspector::GetUser(const std::string& id, int limit) const {
  if (limit < 1 || limit > 10000) {
    return Status::InvalidArgument("field 'limit': must be in 1..10000, got " +
                                   std::to_string(limit))
        .WithField("limit");
  }
  base::ReaderLock lock(&state_->mu);
  const std::optional<uint32_t> user = state_->user_ids.Find(id);
  if (!user || state_->user_ids.forgotten(*user)) {
    return Status::NotFound("user '" + id + "' was never seen");
  }
  UserDetail d;
  d.id = id;
  if (const KeyValues* attributes = state_->catalog.user_attributes(*user)) {
    d.attributes = *attributes;
  }
  const model::UserState& state = state_->users.Find(*user);
  d.events = static_cast<uint64_t>(state.num_events());
  const auto& recent = state.recent();
  for (auto it = recent.rbegin(); it != recent.rend() && static_cast<int>(d.history.size()) < limit;
       ++it) {
    UserHistoryEntry e;
    if (it->item < state_->item_ids.size()) {
      e.item = state_->item_ids.external(it->item);
    }
    const ItemInfo* info = state_->catalog.item(it->item);
    if (info != nullptr && info->has_content && !info->title.empty()) {
      e.title = info->title;
    }
    e.type = state_->types().type(it->type).name;
    if (std::isfinite(it->value)) {
      e.value = it->value;
    }
    e.ts_ms = it->ts_ms;
    d.history.push_back(std::move(e));
  }
  return d;
}

Result<ItemDetail> Inspector::GetItem(const std::string& id) const {
  base::ReaderLock lock(&state_->mu);
  const std::optional<uint32_t> item = state_->item_ids.Find(id);
  const ItemInfo* info = item ? state_->catalog.item(*item) : nullptr;
  if (info == nullptr) {
    return Status::NotFound("item '" + id + "' is not in the catalogue");
  }
  ItemDetail d;
  d.id = id;
  if (info->has_content && !info->title.empty()) {
    d.title = info->title;
  }
  for (uint32_t c : info->categories) {
    d.categories.push_back(state_->catalog.category(c));
  }
  d.tags = info->tags;
  d.attributes = info->attributes;
  d.created_ms = info->created_ms;
  d.deleted = info->deleted;
  d.events = info->events;
  return d;
}

}  // namespace flywheel::engine
