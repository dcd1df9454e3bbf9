// The serving stages of the engine (doc/engine.md, "Serving stages"): one request goes
//
//   Prepare   derive once what the stages share: the item filter, the model's query vector,
//             whether the answer is personal, the user's recent positive items (seeds)
//   Retrieve  each CandidateSource offers items (candidate_sources.h): the model's retrieval
//             (ANN over item vectors, or the model's own exact ranking), neighbours of the
//             seeds, trending items
//   Score     the model's score (one inner product, base/dot.h, for vector models); trending
//             for non-personal answers; sorted best first
//   Select    ranked items into the slots not kept for exploration, under the business rules
//             (at most N items per first category)
//   Explore   a share of the slots to new items, preferring the seeds' categories
//   Explain   a structured Reason per item (and, with explain, the seeds' shares)
//
// Everything here is read-only over the learned state: the engine runs it under the state's
// shared lock. Deterministic: the same state and request give the same answer.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "flywheel/event_types.h"
#include "flywheel/pipeline_options.h"
#include "flywheel/types.h"

#include "engine/learn/catalog.h"
#include "engine/learn/trending.h"
#include "engine/serve/request.h"
#include "model/recommender.h"

namespace flywheel::engine {

// Checks ranges; kInvalidArgument naming the field.
Status ValidatePipelineOptions(const PipelineOptions& options);

// Maximum-inner-product search over the model's item vectors (the engine's ANN index).
class VectorSearch {
 public:
  virtual ~VectorSearch() = default;
  // Top-k items by <query, item vector>, best first, among those `allowed` accepts.
  virtual void Search(std::span<const float> query, int k,
                      const std::function<bool(ItemIdx)>& allowed,
                      std::vector<model::ScoredItem>* out) const = 0;
};

class CandidateReranker;  // policy.h

// What the stages read: one model and the learned state around it.
struct ServeContext {
  const model::Recommender& model;
  const Catalog& catalog;
  const TrendingLists& trending;
  const VectorSearch* search = nullptr;  // null: exact search over the model's vectors
  const PipelineOptions& options;
  const EventTypeTable& types;
  // The "reward" policies re-rank the candidates with it (policy.h); null: they are refused.
  const CandidateReranker* reranker = nullptr;
};

// Top-k by inner product among the allowed items: the index when there is one, else an exact
// scan of the model's vectors.
void SearchVectors(const ServeContext& ctx, std::span<const float> query, int k,
                   const std::function<bool(ItemIdx)>& allowed,
                   std::vector<model::ScoredItem>* hits);

// The stages, in order (Run calls them all).
void Prepare(const ServeContext& ctx, ServeRequest* request);
void Retrieve(const ServeContext& ctx, const ServeRequest& request, ServeResult* result);
void Score(const ServeContext& ctx, const ServeRequest& request, ServeResult* result);
// Select and Explore: the ranked slots, the exploration slots, then ranked items again to fill
// what exploration left empty.
void SelectAndExplore(const ServeContext& ctx, const ServeRequest& request, ServeResult* result);
void Explain(const ServeContext& ctx, const ServeRequest& request, ServeResult* result);

// Runs every stage. `request` holds what was asked; Prepare fills the rest.
void RunPipeline(const ServeContext& ctx, ServeRequest* request, ServeResult* result);

// Items most similar to `item` by the model's vectors (cosine over the first dim - 1
// coordinates); falls back to trending items sharing its categories for models without vectors.
void SimilarItems(const ServeContext& ctx, ItemIdx item, int k, std::vector<ServeItem>* out);

}  // namespace flywheel::engine
