// Forwarding header: the lock moved to base/rw_lock.h (base::RwLock); kept for src/engine.
#pragma once

#include "base/rw_lock.h"

namespace flywheel::ann {
using RwLock = base::RwLock;
}  // namespace flywheel::ann
