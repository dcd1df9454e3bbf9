// QueryRunner: the read side of the engine (doc/engine.md, "Serving stages"). It checks a
// public RecommendQuery, translates it to a ServeRequest (external ids to dense indices,
// category names to ids), runs the stages over the learned state under its shared lock, and
// translates the ServeResult back at the edge: external ids, and the reasons' text written once
// (serve/reason.h).
//
// Threads: any number of request threads at once; holds the state's shared lock per request
// (the learner waits at most for the requests in flight).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "flywheel/engine.h"

#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/serve/pipeline.h"
#include "engine/serve/policy.h"
#include "engine/serve/vector_indexer.h"

namespace flywheel::engine {

class QueryRunner {
 public:
  // `loop.policy` was checked by ValidateLoopPolicy (an invalid one serves greedy).
  QueryRunner(const LearnedState* state, const Learner* learner, const VectorIndexer* indexer,
              const PipelineOptions& options, const LoopOptions& loop);

  Result<RecommendResult> Recommend(const RecommendQuery& query) const;
  Result<RecommendResult> Similar(const std::string& item, int k, const std::string& model) const;
  // Engine::DryRun (dry_run.cc): the pipeline over a copy of the user's state with the event
  // appended; the learned state is only read.
  Result<DryRunResult> DryRun(const RecommendQuery& query, const DryRunEvent& event) const;
  // Engine::Propensities (propensities.cc): the policy's probabilities of a shown list.
  Result<std::vector<double>> Propensities(const RecommendQuery& query,
                                           std::span<const ShownItem> shown,
                                           std::vector<double>* steps, uint64_t seed) const;
  // The re-ranker of the "reward" policies (set once before serving; null: they are refused).
  void SetReranker(const CandidateReranker* reranker) { reranker_ = reranker; }
  // Whether `item` is in the catalogue now (known, not deleted).
  bool HasItem(const std::string& item) const;

 private:
  // Checks k and categories; the index of the query's model.
  Result<size_t> CheckQuery(const RecommendQuery& query) const;
  // The list policy of a request: query.policy, else the user's experiment arm; and the seed
  // of its random numbers. kInvalidArgument (field "policy") for a bad spec or a "reward"
  // policy without a reranker.
  struct PolicyChoice {
    ListPolicySpec spec;
    uint64_t seed = 0;
  };
  Result<PolicyChoice> ChoosePolicy(const RecommendQuery& query) const;
  // The pipeline for `query` with model `which` and `policy`; `state` replaces the user's
  // state when not null. REQUIRES: state mu held.
  RecommendResult RunLocked(const RecommendQuery& query, size_t which,
                            const model::UserState* state, const PolicyChoice& policy) const
      REQUIRES_SHARED(state_->mu);
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
  const LoopOptions& loop_;
  std::vector<PolicyArm> arms_;  // loop.policy
  const CandidateReranker* reranker_ = nullptr;
  mutable std::atomic<uint64_t> requests_{0};  // a policy seed per request (ChoosePolicy)
};

}  // namespace flywheel::engine
