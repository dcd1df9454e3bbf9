#include "engine/serve/pipeline.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "base/dot.h"
#include "engine/serve/candidate_sources.h"

namespace flywheel::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool HasAny(const std::vector<uint32_t>& cats, const std::vector<uint32_t>& set) {
  return std::any_of(cats.begin(), cats.end(),
                     [&](uint32_t c) { return std::find(set.begin(), set.end(), c) != set.end(); });
}

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
    out->push_back(model::ScoredItem{i, base::Dot(query.data(), vec.data(), dim)});
  }
  auto better = [](const model::ScoredItem& a, const model::ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  const size_t keep = std::min(out->size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(keep), out->end(),
                    better);
  out->resize(keep);
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
  if (o.content_candidates < 0 || o.content_candidates > 10000) {
    return bad("content_candidates", "must be in 0..10000");
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

bool ItemFilter::operator()(ItemIdx i) const {
  const ItemInfo* info = catalog_->item(i);
  if (info == nullptr || info->deleted || (exclude_seen_ && state_->HasSeen(i))) {
    return false;
  }
  if (categories_ != nullptr && !HasAny(info->categories, *categories_)) {
    return false;
  }
  return banned_.empty() || !HasAny(info->categories, banned_);
}

ServeItem& Candidates::Add(ItemIdx item, const char* source) {
  auto [it, added] = index_.emplace(item, items_.size());
  if (added) {
    ServeItem p;
    p.item = item;
    p.score = kNegInf;
    p.source = source;
    items_.push_back(std::move(p));
  }
  return items_[it->second];
}

void SearchVectors(const ServeContext& ctx, std::span<const float> query, int k,
                   const std::function<bool(ItemIdx)>& allowed,
                   std::vector<model::ScoredItem>* hits) {
  if (ctx.search != nullptr) {
    ctx.search->Search(query, k, allowed, hits);
  } else {
    ExactSearch(ctx.model, query, k, allowed, hits);
  }
}

void Prepare(const ServeContext& ctx, ServeRequest* q) {
  const model::Recommender& model = ctx.model;
  std::vector<uint32_t> banned;
  for (const std::string& name : ctx.options.exclude_categories) {
    if (auto c = ctx.catalog.FindCategory(name)) {
      banned.push_back(*c);
    }
  }
  q->allowed = ItemFilter(&ctx.catalog, q->state, q->exclude_seen,
                          q->filter_categories ? &q->categories : nullptr, std::move(banned));
  q->model_request = model::RecommendRequest{};
  q->model_request.user = q->user;
  q->model_request.k = ctx.options.candidates;
  q->model_request.now_ms = q->now_ms;
  q->model_request.user_state = q->state;
  const size_t dim = model.retrieval_dim();
  q->query.assign(dim, 0.0f);
  q->has_query = dim > 0 && model.RetrievalQuery(q->model_request, q->query);
  q->personal = q->has_query || (dim == 0 && model.personalised() && q->state->num_events() > 0);
  q->seeds = RecentSeeds(*q->state, ctx.types,
                         std::max<size_t>(10, static_cast<size_t>(ctx.options.neighbour_seeds)));
  q->vector_seeds.clear();
  q->seed_vectors.clear();
  if (dim > 0) {
    std::vector<float> vec(dim);
    for (const Seed& s : q->seeds) {
      if (model.RetrievalItem(s.item, vec)) {
        vec[dim - 1] = 0;  // the bias coordinate
        q->vector_seeds.push_back(s);
        q->seed_vectors.push_back(vec);
      }
    }
  }
}

void Retrieve(const ServeContext& ctx, const ServeRequest& q, ServeResult* result) {
  for (const auto& source : DefaultSources()) {
    source->Retrieve(ctx, q, &result->candidates);
  }
}

void Score(const ServeContext& ctx, const ServeRequest& q, ServeResult* result) {
  // The model's score for personal answers (exact inner products for vector models; items
  // outside a non-vector model's list rank after it), else log2 of the trending count.
  std::vector<ServeItem>& items = result->candidates.items();
  const size_t dim = ctx.model.retrieval_dim();
  std::vector<float> vec(dim);
  float floor = std::numeric_limits<float>::max();
  for (const ServeItem& p : items) {
    if (p.score != kNegInf) {
      floor = std::min(floor, p.score);
    }
  }
  for (ServeItem& p : items) {
    const double log_trend = ctx.catalog.TrendingLog2(p.item, q.now_ms);
    if (!q.personal) {
      p.score = static_cast<float>(std::max(log_trend, -1e30));
    } else if (dim > 0) {
      p.score = ctx.model.RetrievalItem(p.item, vec) ? base::Dot(q.query.data(), vec.data(), dim)
                                                     : kNegInf;
    } else if (p.score == kNegInf) {
      // Below every model-ranked item, ordered by trending among themselves.
      const double squashed = 0.5 + std::atan(std::max(log_trend, -1e30)) / 3.14159265358979;
      p.score = (floor == std::numeric_limits<float>::max() ? 0.0f : floor) - 1.0f +
                static_cast<float>(squashed);
    }
  }
  std::sort(items.begin(), items.end(), [](const ServeItem& a, const ServeItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
}

void RunPipeline(const ServeContext& ctx, ServeRequest* request, ServeResult* result) {
  Prepare(ctx, request);
  Retrieve(ctx, *request, result);
  Score(ctx, *request, result);
  SelectAndExplore(ctx, *request, result);
  Explain(ctx, *request, result);
}

}  // namespace flywheel::engine
