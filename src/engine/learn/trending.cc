#include "engine/learn/trending.h"

#include <algorithm>
#include <limits>

namespace flywheel::engine {

TrendingLists TrendingLists::Build(const Catalog& catalog, TimestampMs now,
                                   int64_t new_item_window_ms, size_t per_list) {
  TrendingLists lists;
  lists.built_at_ms = now;
  std::vector<std::pair<double, ItemIdx>> scored;
  scored.reserve(catalog.num_items());
  for (ItemIdx i = 0; i < catalog.num_items(); ++i) {
    const ItemInfo* info = catalog.item(i);
    if (info->deleted) {
      continue;
    }
    const double t = catalog.TrendingLog2(i, now);
    if (t != -std::numeric_limits<double>::infinity()) {
      scored.emplace_back(t, i);
    }
    if (new_item_window_ms > 0 && now - info->first_seen_ms <= new_item_window_ms) {
      lists.new_items.push_back(i);
    }
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  lists.by_category.resize(catalog.num_categories());
  for (const auto& [t, i] : scored) {
    if (lists.global.size() < per_list) {
      lists.global.push_back(i);
    }
    for (uint32_t c : catalog.item(i)->categories) {
      if (lists.by_category[c].size() < per_list) {
        lists.by_category[c].push_back(i);
      }
    }
  }
  std::sort(lists.new_items.begin(), lists.new_items.end(), [&](ItemIdx a, ItemIdx b) {
    const TimestampMs ta = catalog.item(a)->first_seen_ms;
    const TimestampMs tb = catalog.item(b)->first_seen_ms;
    return ta != tb ? ta > tb : a < b;
  });
  if (lists.new_items.size() > per_list) {
    lists.new_items.resize(per_list);
  }
  return lists;
}

}  // namespace flywheel::engine
