// Inspector: read-only detail of one user or one item for the dashboard (Engine::GetUser,
// Engine::GetItem; doc/http_api.md, "GET /v1/users/{id}", "GET /v1/items/{id}"): a user's
// attributes, event count and recent history with the event types, values and item titles; an
// item's catalogue record (title, categories, tags, attributes, created, deleted) and its
// interaction count.
//
// Threads: any number of request threads; holds the learned state's shared lock per call.
#pragma once

#include <string>

#include "flywheel/engine.h"

#include "engine/learn/learned_state.h"

namespace flywheel::engine {

class Inspector {
 public:
  explicit Inspector(const LearnedState* state) : state_(state) {}

  Result<UserDetail> GetUser(const std::string& id, int limit) const;
  Result<ItemDetail> GetItem(const std::string& id) const;

 private:
  const LearnedState* const state_;
};

}  // namespace flywheel::engine
