#include "engine/serve/query_runner.h"

#include "engine/serve/reason.h"

namespace flywheel::engine {

QueryRunner::QueryRunner(const LearnedState* state, const Learner* learner,
                         const VectorIndexer* indexer, const PipelineOptions& options,
                         const LoopOptions& loop)
    : state_(state),
      learner_(learner),
      indexer_(indexer),
      options_(options),
      loop_(loop),
      reranker_(state->reward_reranker()) {
  Result<std::vector<PolicyArm>> arms = ParsePolicyArms(loop.policy);
  arms_ = arms.ok() ? std::move(arms).value() : std::vector<PolicyArm>{PolicyArm{}};
}

ServeContext QueryRunner::ContextFor(size_t which) const {
  const model::Recommender& model = *state_->models[which];
  return ServeContext{
      model,    state_->catalog, state_->trending, indexer_->SearchFor(which, model),
      options_, state_->types(), reranker_};
}

ServeRequest QueryRunner::MakeRequest(const RecommendQuery& query,
                                      std::vector<std::string>* unknown) const {
  ServeRequest q;
  const std::optional<uint32_t> user = state_->user_ids.Find(query.user);
  q.user = user.value_or(kNoUser);
  q.state = &state_->users.Find(q.user);
  q.k = query.k;
  q.exclude_seen = query.exclude_seen;
  q.explain = query.explain;
  q.now_ms = query.now_ms != 0 ? query.now_ms : state_->last_event_ms;
  if (!query.categories.empty()) {
    q.filter_categories = true;
    for (const std::string& name : query.categories) {
      if (auto c = state_->catalog.FindCategory(name)) {
        q.categories.push_back(*c);
      } else {
        unknown->push_back(name);
      }
    }
  }
  return q;
}

Recommendation QueryRunner::ToPublic(ServeItem& p) const {
  Recommendation r;
  r.item = state_->item_ids.external(p.item);
  r.score = p.score;
  r.reason = FormatReason(p.reason, p.item, state_->catalog, state_->item_ids, state_->types());
  r.reason_kind = ReasonKindName(p.reason.kind);
  if (p.reason.seed != kNoItem && p.reason.seed < state_->item_ids.size()) {
    r.reason_item = state_->item_ids.external(p.reason.seed);
  }
  r.exploration = p.exploration;
  r.propensity = p.propensity;
  r.step = p.step;
  r.source = p.source;
  for (const auto& [seed, share] : p.because) {
    r.because.emplace_back(state_->item_ids.external(seed), share);
  }
  return r;
}

void QueryRunner::AddTrending(const ServeRequest& request, const ServeItem& p,
                              Recommendation* r) const {
  const double count = state_->catalog.Trending(p.item, request.now_ms);
  if (!request.personal) {
    // The list is ordered by log2 of this count (exact for tiny counts); the count is readable.
    r->score = static_cast<float>(count);
  }
  if (request.explain && p.reason.kind == ReasonKind::kPopular) {
    r->trending_count = count;
    r->trending_half_life_hours = static_cast<double>(state_->catalog.half_life_ms()) / 3.6e6;
  }
}

Result<size_t> QueryRunner::CheckQuery(const RecommendQuery& query) const {
  if (query.k < 1 || query.k > 1000) {
    return Status::InvalidArgument("field 'k': must be in 1..1000, got " + std::to_string(query.k))
        .WithField("k");
  }
  if (query.categories.size() > 64) {
    return Status::InvalidArgument("field 'categories': at most 64 categories")
        .WithField("categories");
  }
  return state_->ModelIndex(query.model);
}

RecommendResult QueryRunner::RunLocked(const RecommendQuery& query, size_t which,
                                       const model::UserState* state, const PolicyChoice& policy,
                                       TimestampMs* request_ms) const {
  RecommendResult result;
  result.model = state_->specs()[which].name;
  result.policy = policy.spec.Canonical();
  // The models' state the answer was ranked with (the OPE replay rebuilds it from this); the
  // stats' applied_seq is the visible one (derived lists published too).
  result.applied_seq = learner_->applied_seq();
  ServeRequest request = MakeRequest(query, &result.unknown_categories);
  result.known_user = request.user != kNoUser;
  if (state != nullptr) {
    request.state = state;
  }
  request.policy_seed = policy.seed;
  if (request_ms != nullptr) {
    *request_ms = request.now_ms;
  }
  ServeResult served;
  // ChoosePolicy refused what could fail here (a reward policy without a reranker).
  (void)RunPipelineWithPolicy(ContextFor(which), policy.spec, &request, &served);
  result.items.reserve(served.items.size());
  for (ServeItem& p : served.items) {
    if (p.item < state_->item_ids.size()) {
      result.items.push_back(ToPublic(p));
      AddTrending(request, p, &result.items.back());
    }
  }
  return result;
}

Result<RecommendResult> QueryRunner::Recommend(const RecommendQuery& query,
                                               uint64_t recommendation_id,
                                               TimestampMs* request_ms) const {
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, CheckQuery(query));
  FLYWHEEL_ASSIGN_OR_RETURN(const PolicyChoice policy, ChoosePolicy(query));
  base::ReaderLock lock(&state_->mu);
  PolicyChoice policy_choice = policy;
  if (recommendation_id != 0) {  // the id seeds the policy: the list can be replayed from it
    policy_choice.seed = recommendation_id;
  }
  return RunLocked(query, which, nullptr, policy_choice, request_ms);
}

bool QueryRunner::HasItem(const std::string& item) const {
  base::ReaderLock lock(&state_->mu);
  const std::optional<uint32_t> idx = state_->item_ids.Find(item);
  return idx && !state_->catalog.deleted(*idx);
}

Result<RecommendResult> QueryRunner::Similar(const std::string& item, int k,
                                             const std::string& model) const {
  if (k < 1 || k > 1000) {
    return Status::InvalidArgument("field 'k': must be in 1..1000, got " + std::to_string(k))
        .WithField("k");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, state_->ModelIndex(model));
  RecommendResult result;
  result.model = state_->specs()[which].name;
  base::ReaderLock lock(&state_->mu);
  result.applied_seq = learner_->applied_seq();
  const std::optional<uint32_t> idx = state_->item_ids.Find(item);
  if (!idx || state_->catalog.deleted(*idx)) {
    return Status::NotFound("item '" + item + "' is not in the catalogue");
  }
  std::vector<ServeItem> top;
  SimilarItems(ContextFor(which), *idx, k, &top);
  for (ServeItem& p : top) {
    Recommendation r = ToPublic(p);
    r.because.clear();
    result.items.push_back(std::move(r));
  }
  return result;
}

}  // namespace flywheel::engine
