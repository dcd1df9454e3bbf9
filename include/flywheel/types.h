// Basic types shared by the public API and the modules.
//
// External ids are strings chosen by the application ("u1", "sku-9"). Inside the engine every
// user and item has a dense internal index (0, 1, 2, ...) assigned in order of first appearance;
// models index their tables with these. Indices are never reused for another external id.
#pragma once

#include <cstdint>
#include <limits>

namespace flywheel {

using UserIdx = uint32_t;  // dense internal user index
using ItemIdx = uint32_t;  // dense internal item index
using EventTypeId = uint16_t;
using TimestampMs = int64_t;  // milliseconds since the Unix epoch (UTC)

inline constexpr ItemIdx kNoItem = std::numeric_limits<ItemIdx>::max();
inline constexpr UserIdx kNoUser = std::numeric_limits<UserIdx>::max();

}  // namespace flywheel
