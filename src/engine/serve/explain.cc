// The Explain stage (pipeline.h) and the item-to-item answer. Reasons are structured (Reason);
// the engine's edge writes their text (reason.h).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "base/dot.h"
#include "engine/serve/pipeline.h"

namespace flywheel::engine {
namespace {

float Norm(const std::vector<float>& v) {
  return std::sqrt(base::Dot(v.data(), v.data(), v.size())) + 1e-12f;
}

// The seeds' shares in `p`, best first, at most 5, summing to 1.
void FillBecause(const ServeRequest& q, const std::vector<float>& sims, ServeItem* p) {
  for (size_t s = 0; s < q.vector_seeds.size(); ++s) {
    if (sims[s] > 0) {
      p->because.emplace_back(q.vector_seeds[s].item, sims[s]);
    }
  }
  std::sort(p->because.begin(), p->because.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (p->because.size() > 5) {
    p->because.resize(5);
  }
  float total = 0;
  for (const auto& entry : p->because) {
    total += entry.second;
  }
  for (auto& entry : p->because) {
    entry.second /= total;
  }
}

// A vector model's reason: the seed most similar to the item (cosine), weighted by the share
// the model attributes to it when it says (attention).
void ExplainByVectors(const ServeRequest& q, const std::unordered_map<ItemIdx, float>& attribution,
                      std::vector<float>& vec, ServeItem* p) {
  vec.back() = 0;
  const float norm = Norm(vec);
  std::vector<float> sims(q.vector_seeds.size());
  size_t best = 0;
  for (size_t s = 0; s < q.vector_seeds.size(); ++s) {
    const std::vector<float>& seed = q.seed_vectors[s];
    sims[s] = base::Dot(vec.data(), seed.data(), vec.size()) / (norm * Norm(seed));
    if (!attribution.empty()) {
      const auto it = attribution.find(q.vector_seeds[s].item);
      sims[s] = it == attribution.end() ? 0.0f : std::max(0.0f, sims[s]) * it->second;
    }
    if (sims[s] > sims[best]) {
      best = s;
    }
  }
  if (sims[best] > 0) {
    p->reason = Reason{ReasonKind::kBecause, q.vector_seeds[best].item, q.vector_seeds[best].type};
  } else {
    p->reason = Reason{ReasonKind::kForYou, kNoItem, 0};
  }
  if (q.explain) {
    FillBecause(q, sims, p);
  }
}

}  // namespace

void Explain(const ServeContext& ctx, const ServeRequest& q, ServeResult* result) {
  const size_t dim = ctx.model.retrieval_dim();
  std::unordered_map<ItemIdx, float> attribution;
  if (q.personal && dim > 0 && !q.vector_seeds.empty()) {
    for (const auto& [item, share] : ctx.model.RecentAttribution(q.model_request)) {
      attribution[item] += share;
    }
  }
  std::vector<float> vec(dim);
  for (ServeItem& p : result->items) {
    if (p.exploration) {
      p.reason = Reason{ReasonKind::kNew, kNoItem, 0};
    } else if (!q.personal) {
      p.reason = Reason{ReasonKind::kPopular, kNoItem, 0};
    } else if (dim > 0 && !q.vector_seeds.empty() && ctx.model.RetrievalItem(p.item, vec)) {
      ExplainByVectors(q, attribution, vec, &p);
    } else if (const std::string_view source = p.source;
               source == "trending" || source == "content") {
      if (source == "trending") {
        p.reason = Reason{ReasonKind::kPopular, kNoItem, 0};
      }  // content: the seed whose category it shares, set by ContentSource
    } else if (!q.seeds.empty()) {
      p.reason = Reason{ReasonKind::kBecauseSimilar, q.seeds.front().item, q.seeds.front().type};
    } else {
      p.reason = Reason{ReasonKind::kForYou, kNoItem, 0};
    }
  }
}

namespace {

// Items sharing a category with `item`, by trending count: the answer for models without
// vectors.
void SimilarByCategory(const ServeContext& ctx, ItemIdx item, int k, std::vector<ServeItem>* out) {
  const ItemInfo* info = ctx.catalog.item(item);
  if (info == nullptr) {
    return;
  }
  std::vector<std::pair<double, ItemIdx>> scored;
  for (uint32_t c : info->categories) {
    if (c < ctx.trending.by_category.size()) {
      for (ItemIdx i : ctx.trending.by_category[c]) {
        const ItemInfo* other = ctx.catalog.item(i);
        if (i != item && other != nullptr && !other->deleted) {
          scored.emplace_back(ctx.catalog.TrendingLog2(i, ctx.trending.built_at_ms), i);
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
    ServeItem p;
    p.item = i;
    p.score = static_cast<float>(t);
    p.source = "trending";
    p.reason = Reason{ReasonKind::kPopular, kNoItem, 0};
    out->push_back(std::move(p));
  }
}

}  // namespace

void SimilarItems(const ServeContext& ctx, ItemIdx item, int k, std::vector<ServeItem>* out) {
  out->clear();
  const model::Recommender& model = ctx.model;
  const size_t dim = model.retrieval_dim();
  std::vector<float> vec(dim);
  if (dim == 0 || !model.RetrievalItem(item, vec)) {
    SimilarByCategory(ctx, item, k, out);
    return;
  }
  const std::function<bool(ItemIdx)> allowed = [&](ItemIdx i) {
    const ItemInfo* info = ctx.catalog.item(i);
    return i != item && info != nullptr && !info->deleted;
  };
  vec[dim - 1] = 0;
  const float norm = Norm(vec);
  std::vector<model::ScoredItem> hits;
  SearchVectors(ctx, vec, std::min(10 * k, 10000), allowed, &hits);
  std::vector<float> other(dim);
  for (auto& h : hits) {  // inner product -> cosine
    model.RetrievalItem(h.item, other);
    other[dim - 1] = 0;
    h.score = base::Dot(vec.data(), other.data(), dim) / (norm * Norm(other));
  }
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  for (const auto& h : hits) {
    if (static_cast<int>(out->size()) >= k) {
      break;
    }
    ServeItem p;
    p.item = h.item;
    p.score = h.score;
    p.source = "neighbours";
    p.reason = Reason{ReasonKind::kSimilarTo, item, 0};
    out->push_back(std::move(p));
  }
}

}  // namespace flywheel::engine
