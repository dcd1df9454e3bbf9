// Candidate sources of the Retrieve stage (serve/pipeline.h). Each offers items for one request
// into the shared Candidates (an item keeps the name of the first source that offered it).
// Stateless and read-only over the learned state, like every stage.
#pragma once

#include <memory>
#include <vector>

#include "engine/serve/pipeline.h"

namespace flywheel::engine {

class CandidateSource {
 public:
  virtual ~CandidateSource() = default;
  virtual void Retrieve(const ServeContext& ctx, const ServeRequest& request,
                        Candidates* out) const = 0;
};

// The model's retrieval: ANN search with the model's query vector when the index is up, else
// the model's own exact ranking (a blocked scan), filtered. options.candidates items.
class ModelSource : public CandidateSource {
 public:
  void Retrieve(const ServeContext& ctx, const ServeRequest& request,
                Candidates* out) const override;
};

// Vector neighbours of the user's most recent positive items (neighbour_seeds seeds,
// neighbours_per_seed each). Without an index only below ann_min_items items (exact scan).
class NeighbourSource : public CandidateSource {
 public:
  void Retrieve(const ServeContext& ctx, const ServeRequest& request,
                Candidates* out) const override;
};

// Content matches (content_candidates; off by default): the trending items of the categories of
// the user's most recent positive items, seed by seed, each item offered with the reason that
// names its seed ("because you viewed X and similar items").
class ContentSource : public CandidateSource {
 public:
  void Retrieve(const ServeContext& ctx, const ServeRequest& request,
                Candidates* out) const override;
};

// Trending items, within the requested categories when filtered (trending_candidates).
class TrendingSource : public CandidateSource {
 public:
  void Retrieve(const ServeContext& ctx, const ServeRequest& request,
                Candidates* out) const override;
};

// The sources the engine serves with, in order: model, neighbours, content, trending.
const std::vector<std::unique_ptr<CandidateSource>>& DefaultSources();

}  // namespace flywheel::engine
