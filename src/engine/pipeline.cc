#include "engine/pipeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace flywheel::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

float Dot(std::span<const float> a, std::span<const float> b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) {
    s += a[i] * b[i];
  }
  return s;
}

// A recent positive item of the user (most recent first), with the verb of its event.
struct Seed {
  ItemIdx item;
  EventTypeId type;
};

std::vector<Seed> RecentSeeds(const model::UserState& state, const EventTypeTable& types,
                              size_t max_seeds) {
  std::vector<Seed> seeds;
  std::unordered_set<ItemIdx> seen;
  const auto& recent = state.recent();
  for (auto it = recent.rbegin(); it != recent.rend() && seeds.size() < max_seeds; ++it) {
    if (it->weight <= 0 || !types.type(it->type).positive || !seen.insert(it->item).second) {
      continue;
    }
    seeds.push_back(Seed{it->item, it->type});
  }
  return seeds;
}

// Exact maximum-inner-product search over the model's vectors (the fallback without an index).
void ExactSearch(const model::Recommender& model, std::span<const float> query, int k,
                 const std::function<bool(ItemIdx)>& allowed, std::vector<model::ScoredItem>* out) {
  out->clear();
  const size_t dim = model.retrieval_dim();
  thread_local std::vector<float> vec;
  vec.resize(dim);
  for (ItemIdx i = 0; i < model.num_items(); ++i) {
    if (!allowed(i) || !model.RetrievalItem(i, vec)) {
      continue;
    }
    out->push_back(model::ScoredItem{i, Dot(query, vec, dim)});
  }
  auto better = [](const model::ScoredItem& a, const model::ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  const size_t keep = std::min(out->size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(keep), out->end(),
                    better);
  out->resize(keep);
}

class Candidates {
 public:
  // Adds `item` unless present; returns its entry.
  PipelineItem& Add(ItemIdx item, const char* source) {
    auto [it, added] = index_.emplace(item, items_.size());
    if (added) {
      PipelineItem p;
      p.item = item;
      p.score = kNegInf;
      p.source = source;
      items_.push_back(std::move(p));
    }
    return items_[it->second];
  }
  bool Contains(ItemIdx item) const { return index_.count(item) != 0; }
  std::vector<PipelineItem>& items() { return items_; }

 private:
  std::unordered_map<ItemIdx, size_t> index_;
  std::vector<PipelineItem> items_;
};

std::string CategoryPhrase(const Catalog& catalog, ItemIdx item, const char* prefix,
                           const char* suffix) {
  const ItemInfo* info = catalog.item(item);
  if (info == nullptr || info->categories.empty()) {
    return std::string(prefix) + suffix;
  }
  return std::string(prefix) + " in " + catalog.category(info->categories.front()) + suffix;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

}  // namespace

Status ValidatePipelineOptions(const PipelineOptions& o) {
  auto bad = [](const char* field, const std::string& what) {
    return Status::InvalidArgument(std::string("pipeline: field '") + field + "': " + what);
  };
  if (o.candidates < 1 || o.candidates > 10000) {
    return bad("candidates", "must be in 1..10000");
  }
  if (o.neighbour_seeds < 0 || o.neighbour_seeds > 50) {
    return bad("neighbour_seeds", "must be in 0..50");
  }
  if (o.neighbours_per_seed < 0 || o.neighbours_per_seed > 1000) {
    return bad("neighbours_per_seed", "must be in 0..1000");
  }
  if (o.trending_candidates < 0 || o.trending_candidates > 10000) {
    return bad("trending_candidates", "must be in 0..10000");
  }
  if (!(o.exploration >= 0 && o.exploration <= 0.5)) {
    return bad("exploration", "must be in 0..0.5");
  }
  if (o.new_item_window_ms < 0) {
    return bad("new_item_window_ms", "must be >= 0");
  }
  if (o.max_per_category < 0) {
    return bad("max_per_category", "must be >= 0");
  }
  if (o.ann != "hnsw" && o.ann != "flat" && o.ann != "none") {
    return bad("ann", "must be hnsw, flat or none");
  }
  return Status::Ok();
}

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

std::string PastTenseVerb(const std::string& type_name) {
  static const std::unordered_map<std::string, std::string> kVerbs = {
      {"view", "viewed"}, {"click", "clicked"},   {"cart", "added to your cart"},
      {"fav", "saved"},   {"purchase", "bought"}, {"rating", "rated"},
      {"like", "liked"},  {"share", "shared"},    {"play", "played"}};
  auto it = kVerbs.find(type_name);
  return it != kVerbs.end() ? it->second : "interacted with";
}

void RunPipeline(const PipelineContext& ctx, const PipelineQuery& q,
                 std::vector<PipelineItem>* out) {
  out->clear();
  const model::Recommender& model = ctx.model;
  const Catalog& catalog = ctx.catalog;
  const PipelineOptions& options = ctx.options;
  const model::UserState& state = *q.state;
  const size_t dim = model.retrieval_dim();

  std::vector<uint32_t> banned;
  for (const std::string& name : options.exclude_categories) {
    if (auto c = catalog.FindCategory(name)) {
      banned.push_back(*c);
    }
  }
  auto has_any = [](const std::vector<uint32_t>& cats, const std::vector<uint32_t>& set) {
    return std::any_of(cats.begin(), cats.end(), [&](uint32_t c) {
      return std::find(set.begin(), set.end(), c) != set.end();
    });
  };
  const std::function<bool(ItemIdx)> allowed = [&](ItemIdx i) {
    const ItemInfo* info = catalog.item(i);
    if (info == nullptr || info->deleted || (q.exclude_seen && state.HasSeen(i))) {
      return false;
    }
    if (q.filter_categories && !has_any(info->categories, q.categories)) {
      return false;
    }
    return banned.empty() || !has_any(info->categories, banned);
  };
  auto search = [&](std::span<const float> query, int k, std::vector<model::ScoredItem>* hits) {
    if (ctx.search != nullptr) {
      ctx.search->Search(query, k, allowed, hits);
    } else {
      ExactSearch(model, query, k, allowed, hits);
    }
  };

  model::RecommendRequest request;
  request.user = q.user;
  request.k = options.candidates;
  request.now_ms = q.now_ms;
  request.user_state = &state;

  std::vector<float> query(dim);
  const bool has_history = state.num_events() > 0;
  bool personal = false;
  Candidates cands;
  std::vector<model::ScoredItem> hits;
  // 1. The model's own candidates.
  const bool has_query = dim > 0 && model.RetrievalQuery(request, query);
  if (has_query && ctx.search != nullptr) {
    personal = true;
    ctx.search->Search(query, options.candidates, allowed, &hits);
    for (const auto& h : hits) {
      cands.Add(h.item, "model").score = h.score;
    }
  } else if (has_query || (dim == 0 && model.personalised() && has_history)) {
    // Without an index the model's own exact ranking (a blocked scan) is the fastest exact
    // retrieval; filters apply to its list.
    personal = true;
    if (q.exclude_seen) {
      request.exclude = state.seen_items();
    }
    request.k = std::min<int>(options.candidates * (q.filter_categories ? 5 : 2), 10000);
    model.Recommend(request, &hits);
    for (const auto& h : hits) {
      if (allowed(h.item) && static_cast<int>(cands.items().size()) < options.candidates) {
        cands.Add(h.item, "model").score = h.score;
      }
    }
  }
  // 2. Neighbours of the user's recent items (vector similarity, bias coordinate left out).
  const std::vector<Seed> seeds =
      RecentSeeds(state, ctx.types, std::max<size_t>(10, options.neighbour_seeds));
  std::vector<std::vector<float>> seed_vectors;
  std::vector<Seed> vector_seeds;
  // Without an index, neighbour search is an exact scan: only for catalogues below the size
  // at which the engine builds one.
  const bool neighbours = ctx.search != nullptr || model.num_items() < options.ann_min_items;
  if (dim > 0) {
    std::vector<float> vec(dim);
    for (const Seed& s : seeds) {
      if (model.RetrievalItem(s.item, vec)) {
        vec[dim - 1] = 0;
        vector_seeds.push_back(s);
        seed_vectors.push_back(vec);
      }
    }
    for (size_t s = 0;
         neighbours && s < vector_seeds.size() && static_cast<int>(s) < options.neighbour_seeds;
         ++s) {
      search(seed_vectors[s], options.neighbours_per_seed, &hits);
      for (const auto& h : hits) {
        cands.Add(h.item, "neighbours");
      }
    }
  }
  // 3. Trending (within the requested categories when filtered).
  std::vector<ItemIdx> trending;
  if (q.filter_categories) {
    for (uint32_t c : q.categories) {
      if (c < ctx.trending.by_category.size()) {
        const auto& list = ctx.trending.by_category[c];
        trending.insert(trending.end(), list.begin(), list.end());
      }
    }
    std::sort(trending.begin(), trending.end(), [&](ItemIdx a, ItemIdx b) {
      const double ta = catalog.TrendingLog2(a, q.now_ms);
      const double tb = catalog.TrendingLog2(b, q.now_ms);
      return ta != tb ? ta > tb : a < b;
    });
    trending.erase(std::unique(trending.begin(), trending.end()), trending.end());
  } else {
    trending = ctx.trending.global;
  }
  int taken = 0;
  for (ItemIdx i : trending) {
    if (taken >= options.trending_candidates) {
      break;
    }
    if (allowed(i)) {
      cands.Add(i, "trending");
      ++taken;
    }
  }

  // Scores: the model's for personal answers (exact inner products for vector models; items
  // outside a non-vector model's list rank after it), else log2 of the trending count.
  std::vector<PipelineItem>& items = cands.items();
  std::vector<float> vec(dim);
  float floor = std::numeric_limits<float>::max();
  for (const PipelineItem& p : items) {
    if (p.score != kNegInf) {
      floor = std::min(floor, p.score);
    }
  }
  for (PipelineItem& p : items) {
    const double log_trend = catalog.TrendingLog2(p.item, q.now_ms);
    if (!personal) {
      p.score = static_cast<float>(std::max(log_trend, -1e30));
    } else if (dim > 0) {
      p.score = model.RetrievalItem(p.item, vec) ? Dot(query, vec, dim) : kNegInf;
    } else if (p.score == kNegInf) {
      // Below every model-ranked item, ordered by trending among themselves.
      const double squashed = 0.5 + std::atan(std::max(log_trend, -1e30)) / 3.14159265358979;
      p.score = (floor == std::numeric_limits<float>::max() ? 0.0f : floor) - 1.0f +
                static_cast<float>(squashed);
    }
  }
  std::sort(items.begin(), items.end(), [](const PipelineItem& a, const PipelineItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });

  // Business rule: at most max_per_category items per first category.
  const int n_explore =
      std::min(q.k / 2, static_cast<int>(std::ceil(q.k * options.exploration - 1e-9)));
  const int n_ranked = q.k - n_explore;
  std::unordered_map<uint32_t, int> per_category;
  auto category_ok = [&](ItemIdx i) {
    if (options.max_per_category <= 0) {
      return true;
    }
    const ItemInfo* info = catalog.item(i);
    if (info == nullptr || info->categories.empty()) {
      return true;
    }
    return per_category[info->categories.front()] < options.max_per_category;
  };
  auto count_category = [&](ItemIdx i) {
    const ItemInfo* info = catalog.item(i);
    if (options.max_per_category > 0 && info != nullptr && !info->categories.empty()) {
      ++per_category[info->categories.front()];
    }
  };
  std::unordered_set<ItemIdx> chosen;
  size_t next = 0;
  auto take_ranked = [&](int limit) {
    for (; next < items.size() && static_cast<int>(out->size()) < limit; ++next) {
      PipelineItem& p = items[next];
      if (p.score == kNegInf || !category_ok(p.item)) {
        continue;
      }
      count_category(p.item);
      chosen.insert(p.item);
      out->push_back(std::move(p));
    }
  };
  take_ranked(n_ranked);

  // Exploration: new items, preferring the categories of the user's recent items, rotated by a
  // hash of (user, minute) so that exposure spreads over the new items.
  if (n_explore > 0 && !ctx.trending.new_items.empty()) {
    std::vector<uint32_t> liked;
    for (const Seed& s : seeds) {
      if (const ItemInfo* info = catalog.item(s.item)) {
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
      if (chosen.count(i) != 0 || !allowed(i) || !category_ok(i)) {
        continue;
      }
      (has_any(catalog.item(i)->categories, liked) ? preferred : others).push_back(i);
    }
    preferred.insert(preferred.end(), others.begin(), others.end());
    const int room = q.k - static_cast<int>(out->size());
    for (size_t j = 0; j < preferred.size() && static_cast<int>(j) < std::min(n_explore, room);
         ++j) {
      PipelineItem p;
      p.item = preferred[j];
      p.exploration = true;
      p.source = "new";
      p.score =
          personal && dim > 0 && model.RetrievalItem(p.item, vec) ? Dot(query, vec, dim) : 0.0f;
      count_category(p.item);
      chosen.insert(p.item);
      out->push_back(std::move(p));
    }
  }
  take_ranked(q.k);  // fill when there were not enough new items

  // Reasons (and explanations). A model that says which recent items shaped the user's
  // representation (attention) weights each seed's similarity by that share.
  std::unordered_map<ItemIdx, float> attribution;
  if (personal && dim > 0 && !vector_seeds.empty()) {
    for (const auto& [item, share] : model.RecentAttribution(request)) {
      attribution[item] += share;
    }
  }
  for (PipelineItem& p : *out) {
    if (p.exploration) {
      p.reason = CategoryPhrase(catalog, p.item, "new", "");
      continue;
    }
    if (!personal) {
      p.reason = CategoryPhrase(catalog, p.item, "popular", " now");
      continue;
    }
    if (dim > 0 && !vector_seeds.empty() && model.RetrievalItem(p.item, vec)) {
      vec[dim - 1] = 0;
      const float norm = std::sqrt(Dot(vec, vec, dim)) + 1e-12f;
      std::vector<float> sims(vector_seeds.size());
      size_t best = 0;
      for (size_t s = 0; s < vector_seeds.size(); ++s) {
        const float sn = std::sqrt(Dot(seed_vectors[s], seed_vectors[s], dim)) + 1e-12f;
        sims[s] = Dot(vec, seed_vectors[s], dim) / (norm * sn);
        if (!attribution.empty()) {
          const auto it = attribution.find(vector_seeds[s].item);
          sims[s] = it == attribution.end() ? 0.0f : std::max(0.0f, sims[s]) * it->second;
        }
        if (sims[s] > sims[best]) {
          best = s;
        }
      }
      if (sims[best] > 0) {
        p.reason = "because you " + PastTenseVerb(ctx.types.type(vector_seeds[best].type).name) +
                   " " + ctx.item_name(vector_seeds[best].item);
      } else {
        p.reason = "recommended for you";
      }
      if (q.explain) {
        for (size_t s = 0; s < vector_seeds.size(); ++s) {
          if (sims[s] > 0) {
            p.because.emplace_back(vector_seeds[s].item, sims[s]);
          }
        }
        std::sort(p.because.begin(), p.because.end(), [](const auto& a, const auto& b) {
          return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        if (p.because.size() > 5) {
          p.because.resize(5);
        }
        float total = 0;
        for (const auto& entry : p.because) {
          total += entry.second;
        }
        for (auto& entry : p.because) {
          entry.second /= total;
        }
      }
    } else if (p.source == "trending") {
      p.reason = CategoryPhrase(catalog, p.item, "popular", " now");
    } else if (!seeds.empty()) {
      p.reason = "because you " + PastTenseVerb(ctx.types.type(seeds.front().type).name) + " " +
                 ctx.item_name(seeds.front().item) + " and similar items";
    } else {
      p.reason = "recommended for you";
    }
  }
}

void SimilarItems(const PipelineContext& ctx, ItemIdx item, int k, std::vector<PipelineItem>* out) {
  out->clear();
  const model::Recommender& model = ctx.model;
  const Catalog& catalog = ctx.catalog;
  const size_t dim = model.retrieval_dim();
  std::vector<float> vec(dim);
  const std::function<bool(ItemIdx)> allowed = [&](ItemIdx i) {
    const ItemInfo* info = catalog.item(i);
    return i != item && info != nullptr && !info->deleted;
  };
  const std::string name = ctx.item_name(item);
  if (dim > 0 && model.RetrievalItem(item, vec)) {
    vec[dim - 1] = 0;
    const float norm = std::sqrt(Dot(vec, vec, dim)) + 1e-12f;
    std::vector<model::ScoredItem> hits;
    const int wide = std::min(10 * k, 10000);
    if (ctx.search != nullptr) {
      ctx.search->Search(vec, wide, allowed, &hits);
    } else {
      ExactSearch(model, vec, wide, allowed, &hits);
    }
    std::vector<float> other(dim);
    for (auto& h : hits) {  // inner product -> cosine
      model.RetrievalItem(h.item, other);
      other[dim - 1] = 0;
      h.score = Dot(vec, other, dim) / (norm * (std::sqrt(Dot(other, other, dim)) + 1e-12f));
    }
    std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
      return a.score != b.score ? a.score > b.score : a.item < b.item;
    });
    for (const auto& h : hits) {
      if (static_cast<int>(out->size()) >= k) {
        break;
      }
      PipelineItem p;
      p.item = h.item;
      p.score = h.score;
      p.source = "neighbours";
      p.reason = "similar to " + name;
      out->push_back(std::move(p));
    }
    return;
  }
  // No vectors: trending items sharing a category.
  const ItemInfo* info = catalog.item(item);
  if (info == nullptr) {
    return;
  }
  std::vector<std::pair<double, ItemIdx>> scored;
  for (uint32_t c : info->categories) {
    if (c < ctx.trending.by_category.size()) {
      for (ItemIdx i : ctx.trending.by_category[c]) {
        if (allowed(i)) {
          scored.emplace_back(catalog.TrendingLog2(i, ctx.trending.built_at_ms), i);
        }
      }
    }
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  scored.erase(std::unique(scored.begin(), scored.end()), scored.end());
  for (const auto& [t, i] : scored) {
    if (static_cast<int>(out->size()) >= k) {
      break;
    }
    PipelineItem p;
    p.item = i;
    p.score = static_cast<float>(t);
    p.source = "trending";
    p.reason = CategoryPhrase(catalog, i, "popular", " now");
    out->push_back(std::move(p));
  }
}

}  // namespace flywheel::engine
