// QueryRunner's list-policy parts: the policy and seed of a request (ChoosePolicy) and
// Engine::Propensities for off-policy evaluation (doc/loop.md, section 4).
#include <cmath>
#include <limits>

#include "base/random.h"
#include "engine/serve/query_runner.h"

namespace flywheel::engine {
namespace {

uint64_t HashString(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

Result<QueryRunner::PolicyChoice> QueryRunner::ChoosePolicy(const RecommendQuery& query) const {
  PolicyChoice choice;
  if (!query.policy.empty()) {
    Result<ListPolicySpec> spec = ParseListPolicy(query.policy);
    if (!spec.ok()) {
      return Status::InvalidArgument("field 'policy': " + spec.status().message())
          .WithField("policy");
    }
    choice.spec = std::move(spec).value();
  } else {
    choice.spec = ArmFor(arms_, query.user, loop_.experiment_salt);
  }
  if (choice.spec.reward && reranker_ == nullptr) {
    return Status::InvalidArgument("field 'policy': policy '" + choice.spec.Canonical() +
                                   "' needs the reward ranker, which this engine does not run")
        .WithField("policy");
  }
  // Until the request carries its recommendation id's bits: loop.seed, the user, the request
  // time and a per-engine request counter (replayable with the same seed, order and times).
  choice.seed =
      base::Mix64(loop_.seed ^ base::Mix64(HashString(query.user) ^
                                           base::Mix64(static_cast<uint64_t>(query.now_ms)) ^
                                           requests_.fetch_add(1)));
  return choice;
}

Result<std::vector<double>> QueryRunner::Propensities(const RecommendQuery& query,
                                                      std::span<const ShownItem> shown,
                                                      std::vector<double>* steps,
                                                      uint64_t seed) const {
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, CheckQuery(query));
  FLYWHEEL_ASSIGN_OR_RETURN(const PolicyChoice policy, ChoosePolicy(query));
  base::ReaderLock lock(&state_->mu);
  std::vector<std::string> unknown;
  ServeRequest request = MakeRequest(query, &unknown);
  request.policy_seed = seed;
  std::vector<ShownSlot> slots;
  for (const ShownItem& s : shown) {
    const std::optional<uint32_t> item = state_->item_ids.Find(s.item);
    slots.push_back(ShownSlot{item.value_or(kNoItem), s.position});
  }
  FLYWHEEL_ASSIGN_OR_RETURN(
      const std::vector<PolicyPropensity> p,
      PolicyPropensities(ContextFor(which), std::move(request), policy.spec, slots));
  std::vector<double> out;
  if (steps != nullptr) {
    steps->clear();
  }
  for (const PolicyPropensity& x : p) {
    out.push_back(x.propensity);
    if (steps != nullptr) {
      steps->push_back(x.step);
    }
  }
  return out;
}

}  // namespace flywheel::engine
