// TrendingLists: the trending and new-item lists the serving stages read (doc/engine.md,
// "Trending"). Derived from the catalogue's decayed event counts; rebuilt by the learner on a
// deterministic schedule (LearnedState::RebuildTrending) and read by requests under the learned
// state's lock. A value type: no locks of its own.
#pragma once

#include <cstdint>
#include <vector>

#include "flywheel/types.h"

#include "engine/learn/catalog.h"

namespace flywheel::engine {

struct TrendingLists {
  TimestampMs built_at_ms = 0;
  std::vector<ItemIdx> global;                    // best first, deleted items left out
  std::vector<std::vector<ItemIdx>> by_category;  // by category id, best first
  std::vector<ItemIdx> new_items;                 // first seen within the window, newest first

  static TrendingLists Build(const Catalog& catalog, TimestampMs now, int64_t new_item_window_ms,
                             size_t per_list);
};

}  // namespace flywheel::engine
