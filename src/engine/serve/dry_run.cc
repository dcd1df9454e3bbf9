// QueryRunner::DryRun (Engine::DryRun, doc/engine.md "Dry run"): the serving stages over a copy
// of the user's state with a hypothetical event appended. The learned state is only read (the
// shared lock is held throughout, so `before` and `after` see the same state).
#include <cmath>

#include "engine/serve/query_runner.h"

namespace flywheel::engine {

Result<DryRunResult> QueryRunner::DryRun(const RecommendQuery& query,
                                         const DryRunEvent& event) const {
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, CheckQuery(query));
  FLYWHEEL_ASSIGN_OR_RETURN(const PolicyChoice policy, ChoosePolicy(query));  // one seed: both
  Result<EventTypeId> type = state_->types().Find(event.type);
  if (!type.ok()) {
    return Status::InvalidArgument("field 'event.type': " + type.status().message())
        .WithField("event.type");
  }
  if (!std::isfinite(event.value)) {
    return Status::InvalidArgument("field 'event.value': must be a finite number")
        .WithField("event.value");
  }
  base::ReaderLock lock(&state_->mu);
  const std::optional<uint32_t> item = state_->item_ids.Find(event.item);
  if (!item) {
    return Status::NotFound("item '" + event.item + "' is not in the catalogue");
  }
  DryRunResult out;
  out.before = RunLocked(query, which, nullptr, policy);
  const std::optional<uint32_t> user = state_->user_ids.Find(query.user);
  // The copy: the user's state now (an empty one for a new user) plus the event, timed at the
  // request time (as the pipeline's now).
  model::UserState copy = state_->users.Find(user.value_or(kNoUser));
  data::Interaction x;
  x.user = user.value_or(kNoUser);
  x.item = *item;
  x.ts_ms = query.now_ms != 0 ? query.now_ms : state_->last_event_ms;
  x.value = static_cast<float>(event.value);
  x.weight = state_->types().type(*type).weight;
  x.type = *type;
  copy.Add(x);
  out.after = RunLocked(query, which, &copy, policy);
  return out;
}

}  // namespace flywheel::engine
