// The Select and Explore stages (pipeline.h): they share the per-category counts of the
// business rule and the set of chosen items, held by one Selection per request.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "base/dot.h"
#include "engine/serve/pipeline.h"

namespace flywheel::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

class Selection {
 public:
  Selection(const Catalog& catalog, int max_per_category, std::vector<ServeItem>* out)
      : catalog_(catalog), max_per_category_(max_per_category), out_(out) {}

  // Business rule: at most max_per_category items per first category.
  bool CategoryOk(ItemIdx i) {
    if (max_per_category_ <= 0) {
      return true;
    }
    const ItemInfo* info = catalog_.item(i);
    if (info == nullptr || info->categories.empty()) {
      return true;
    }
    return per_category_[info->categories.front()] < max_per_category_;
  }
  bool Chosen(ItemIdx i) const { return chosen_.count(i) != 0; }
  void Take(ServeItem item) {
    const ItemInfo* info = catalog_.item(item.item);
    if (max_per_category_ > 0 && info != nullptr && !info->categories.empty()) {
      ++per_category_[info->categories.front()];
    }
    chosen_.insert(item.item);
    out_->push_back(std::move(item));
  }
  // Ranked candidates in order until the answer holds `limit` items.
  void TakeRanked(std::vector<ServeItem>& ranked, int limit) {
    for (; next_ < ranked.size() && static_cast<int>(out_->size()) < limit; ++next_) {
      ServeItem& p = ranked[next_];
      if (p.score == kNegInf || !CategoryOk(p.item)) {
        continue;
      }
      Take(std::move(p));
    }
  }
  int size() const { return static_cast<int>(out_->size()); }

 private:
  const Catalog& catalog_;
  const int max_per_category_;
  std::vector<ServeItem>* out_;
  std::unordered_map<uint32_t, int> per_category_;
  std::unordered_set<ItemIdx> chosen_;
  size_t next_ = 0;
};

bool SharesCategory(const ItemInfo* info, const std::vector<uint32_t>& cats) {
  return std::any_of(info->categories.begin(), info->categories.end(), [&](uint32_t c) {
    return std::find(cats.begin(), cats.end(), c) != cats.end();
  });
}

// New items that may fill exploration slots: preferring the categories of the user's recent
// items, rotated by a hash of (user, minute) so that exposure spreads over the new items.
std::vector<ItemIdx> ExplorationOrder(const ServeContext& ctx, const ServeRequest& q,
                                      Selection* selection) {
  std::vector<uint32_t> liked;
  for (const Seed& s : q.seeds) {
    if (const ItemInfo* info = ctx.catalog.item(s.item)) {
      liked.insert(liked.end(), info->categories.begin(), info->categories.end());
    }
  }
  const auto& fresh = ctx.trending.new_items;
  const size_t start =
      Mix((static_cast<uint64_t>(q.user) << 20) ^ static_cast<uint64_t>(q.now_ms / 60000)) %
      fresh.size();
  std::vector<ItemIdx> preferred;
  std::vector<ItemIdx> others;
  for (size_t j = 0; j < fresh.size(); ++j) {
    const ItemIdx i = fresh[(start + j) % fresh.size()];
    if (selection->Chosen(i) || !q.allowed(i) || !selection->CategoryOk(i)) {
      continue;
    }
    (SharesCategory(ctx.catalog.item(i), liked) ? preferred : others).push_back(i);
  }
  preferred.insert(preferred.end(), others.begin(), others.end());
  return preferred;
}

void Explore(const ServeContext& ctx, const ServeRequest& q, int n_explore, Selection* selection) {
  if (n_explore <= 0 || ctx.trending.new_items.empty()) {
    return;
  }
  const std::vector<ItemIdx> order = ExplorationOrder(ctx, q, selection);
  const size_t dim = ctx.model.retrieval_dim();
  std::vector<float> vec(dim);
  const int room = q.k - selection->size();
  int taken = 0;
  for (size_t j = 0; j < order.size() && taken < std::min(n_explore, room); ++j) {
    if (!selection->CategoryOk(order[j])) {
      continue;  // two new items of one category can pass the order's check, not both the rule
    }
    ++taken;
    ServeItem p;
    p.item = order[j];
    p.exploration = true;
    p.source = "new";
    p.score = q.personal && dim > 0 && ctx.model.RetrievalItem(p.item, vec)
                  ? base::Dot(q.query.data(), vec.data(), dim)
                  : 0.0f;
    selection->Take(std::move(p));
  }
}

}  // namespace

void SelectAndExplore(const ServeContext& ctx, const ServeRequest& q, ServeResult* result) {
  result->items.clear();
  const int n_explore =
      std::min(q.k / 2, static_cast<int>(std::ceil(q.k * ctx.options.exploration - 1e-9)));
  std::vector<ServeItem>& ranked = result->candidates.items();
  Selection selection(ctx.catalog, ctx.options.max_per_category, &result->items);
  selection.TakeRanked(ranked, q.k - n_explore);
  Explore(ctx, q, n_explore, &selection);
  selection.TakeRanked(ranked, q.k);  // fill when there were not enough new items
}

}  // namespace flywheel::engine
