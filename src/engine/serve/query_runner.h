// QueryRunner: the read side of the engine (doc/engine.md, "Serving stages"). It checks a
// public RecommendQuery, translates it to a ServeRequest (external ids to dense indices,
// category names to ids), runs the stages over the learned state under its shared lock, and
// translates the ServeResult back at the edge: external ids, and the reasons' text written once
// (serve/reason.h).
//
// Threads: any number of request threads at once; holds the state's shared lock per request
// (the learner waits at most for the requests in flight).
#pragma once

#include <string>

#include "flywheel/engine.h"

#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/serve/pipeline.h"
#include "engine/serve/vector_indexer.h"

namespace flywheel::engine {

class QueryRunner {
 public:
  QueryRunner(const LearnedState* state, const Learner* learner, const VectorIndexer* indexer,
              const PipelineOptions& options)
      : state_(state), learner_(learner), indexer_(indexer), options_(options) {}

  // `recommendation_id` seeds the list policy (ServeRequest); *request_ms (when not null) gets
  // the request time the answer was computed for.
  Result<RecommendResult> Recommend(const RecommendQuery& query, uint64_t recommendation_id = 0,
                                    TimestampMs* request_ms = nullptr) const;
  Result<RecommendResult> Similar(const std::string& item, int k, const std::string& model) const;
  // Engine::DryRun (dry_run.cc): the pipeline over a copy of the user's state with the event
  // appended; the learned state is only read.
  Result<DryRunResult> DryRun(const RecommendQuery& query, const DryRunEvent& event) const;
  // Whether `item` is in the catalogue now (known, not deleted).
  bool HasItem(const std::string& item) const;

 private:
  // Checks k and categories; the index of the query's model.
  Result<size_t> CheckQuery(const RecommendQuery& query) const;
  // The pipeline for `query` with model `which`; `state` replaces the user's state when not
  // null. REQUIRES: state mu held.
  RecommendResult RunLocked(const RecommendQuery& query, size_t which,
                            const model::UserState* state, uint64_t recommendation_id = 0,
                            TimestampMs* request_ms = nullptr) const REQUIRES_SHARED(state_->mu);
  // What the stages read for model `which`. REQUIRES: state mu held while it is used.
  ServeContext ContextFor(size_t which) const REQUIRES_SHARED(state_->mu);
  // REQUIRES: state mu held.
  // Names in query.categories the catalogue does not know go to *unknown.
  ServeRequest MakeRequest(const RecommendQuery& query, std::vector<std::string>* unknown) const
      REQUIRES_SHARED(state_->mu);
  // Unpersonalised answers: the trending count as the score; with explain, the count of an item
  // placed by popularity.
  void AddTrending(const ServeRequest& request, const ServeItem& p, Recommendation* r) const
      REQUIRES_SHARED(state_->mu);
  // The public form of one answer item. REQUIRES: state mu held.
  Recommendation ToPublic(ServeItem& item) const REQUIRES_SHARED(state_->mu);

  const LearnedState* const state_;
  const Learner* const learner_;
  const VectorIndexer* const indexer_;
  const PipelineOptions& options_;
};

}  // namespace flywheel::engine
