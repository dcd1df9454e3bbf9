// The text of a structured Reason (request.h), written once at the engine's edge when a result
// leaves the engine: "because you viewed Heat", "popular in drama now", "new in jazz",
// "recommended for you", "similar to Heat". Item names are titles from the catalogue, else the
// external id. REQUIRES: the learned state's lock held (it reads the catalogue and id map).
#pragma once

#include <string>

#include "flywheel/event_types.h"

#include "data/id_map.h"
#include "engine/learn/catalog.h"
#include "engine/serve/request.h"

namespace flywheel::engine {

std::string FormatReason(const Reason& reason, ItemIdx item, const Catalog& catalog,
                         const data::IdMap& item_ids, const EventTypeTable& types);

// The reason's kind as the API names it: "for_you", "because", "because_similar", "popular",
// "new", "similar".
const char* ReasonKindName(ReasonKind kind);

// "viewed", "bought", ... for an event type name ("interacted with" for unknown ones).
std::string PastTenseVerb(const std::string& type_name);

}  // namespace flywheel::engine
