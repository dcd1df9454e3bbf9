#include "engine/serve/candidate_sources.h"

#include <algorithm>

namespace flywheel::engine {

void ModelSource::Retrieve(const ServeContext& ctx, const ServeRequest& q, Candidates* out) const {
  if (!q.personal) {
    return;
  }
  const PipelineOptions& options = ctx.options;
  std::vector<model::ScoredItem> hits;
  if (q.has_query && ctx.search != nullptr) {
    ctx.search->Search(q.query, options.candidates, q.allowed.AsFunction(), &hits);
    for (const auto& h : hits) {
      out->Add(h.item, "model").score = h.score;
    }
    return;
  }
  // Without an index the model's own exact ranking (a blocked scan) is the fastest exact
  // retrieval; filters apply to its list.
  model::RecommendRequest request = q.model_request;
  if (q.exclude_seen) {
    request.exclude = q.state->seen_items();
  }
  request.k = std::min<int>(options.candidates * (q.filter_categories ? 5 : 2), 10000);
  ctx.model.Recommend(request, &hits);
  for (const auto& h : hits) {
    if (q.allowed(h.item) && static_cast<int>(out->size()) < options.candidates) {
      out->Add(h.item, "model").score = h.score;
    }
  }
}

void NeighbourSource::Retrieve(const ServeContext& ctx, const ServeRequest& q,
                               Candidates* out) const {
  const PipelineOptions& options = ctx.options;
  // Without an index, neighbour search is an exact scan: only for catalogues below the size
  // at which the engine builds one.
  const bool neighbours = ctx.search != nullptr || ctx.model.num_items() < options.ann_min_items;
  if (!neighbours) {
    return;
  }
  const auto allowed = q.allowed.AsFunction();
  std::vector<model::ScoredItem> hits;
  for (size_t s = 0; s < q.vector_seeds.size() && static_cast<int>(s) < options.neighbour_seeds;
       ++s) {
    SearchVectors(ctx, q.seed_vectors[s], options.neighbours_per_seed, allowed, &hits);
    for (const auto& h : hits) {
      out->Add(h.item, "neighbours");
    }
  }
}

void ContentSource::Retrieve(const ServeContext& ctx, const ServeRequest& q,
                             Candidates* out) const {
  const int wanted = ctx.options.content_candidates;
  const size_t seeds = std::max(1, ctx.options.neighbour_seeds);
  int taken = 0;
  for (size_t s = 0; s < q.seeds.size() && s < seeds && taken < wanted; ++s) {
    const ItemInfo* info = ctx.catalog.item(q.seeds[s].item);
    if (info == nullptr) {
      continue;
    }
    for (uint32_t c : info->categories) {
      if (c >= ctx.trending.by_category.size()) {
        continue;
      }
      for (ItemIdx i : ctx.trending.by_category[c]) {
        if (taken >= wanted) {
          break;
        }
        if (!out->Contains(i) && q.allowed(i)) {
          ServeItem& p = out->Add(i, "content");
          p.reason = Reason{ReasonKind::kBecauseSimilar, q.seeds[s].item, q.seeds[s].type};
          ++taken;
        }
      }
    }
  }
}

void TrendingSource::Retrieve(const ServeContext& ctx, const ServeRequest& q,
                              Candidates* out) const {
  std::vector<ItemIdx> trending;
  if (q.filter_categories) {
    for (uint32_t c : q.categories) {
      if (c < ctx.trending.by_category.size()) {
        const auto& list = ctx.trending.by_category[c];
        trending.insert(trending.end(), list.begin(), list.end());
      }
    }
    std::sort(trending.begin(), trending.end(), [&](ItemIdx a, ItemIdx b) {
      const double ta = ctx.catalog.TrendingLog2(a, q.now_ms);
      const double tb = ctx.catalog.TrendingLog2(b, q.now_ms);
      return ta != tb ? ta > tb : a < b;
    });
    trending.erase(std::unique(trending.begin(), trending.end()), trending.end());
  } else {
    trending = ctx.trending.global;
  }
  int taken = 0;
  for (ItemIdx i : trending) {
    if (taken >= ctx.options.trending_candidates) {
      break;
    }
    if (q.allowed(i)) {
      out->Add(i, "trending");
      ++taken;
    }
  }
}

const std::vector<std::unique_ptr<CandidateSource>>& DefaultSources() {
  static const auto* sources = [] {
    auto* v = new std::vector<std::unique_ptr<CandidateSource>>();
    v->push_back(std::make_unique<ModelSource>());
    v->push_back(std::make_unique<NeighbourSource>());
    v->push_back(std::make_unique<ContentSource>());
    v->push_back(std::make_unique<TrendingSource>());
    return v;
  }();
  return *sources;
}

}  // namespace flywheel::engine
