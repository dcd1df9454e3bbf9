// List policies: how the scored candidates (best first, after Score) become the list, and the
// probability each shown item had of being shown where it is (doc/loop.md, section 4).
//
//   greedy          the k best (the pipeline's Select and Explore as they always were)
//   epsilon:E       the greedy list, each slot independently replaced with probability E by an
//                   item drawn uniformly from the next `pool` candidates (default 20)
//   boltzmann:T     Plackett-Luce sampling from the top `pool` (default 50), softmax(score / T)
//   thompson:S      scores plus Gaussian noise S / sqrt(1 + n_i), the k best of the draws
//   reward[+P]      candidates re-ranked by a CandidateReranker, then policy P (default greedy)
//
// Composition with the business rules: the new-item slots of pipeline.exploration are chosen
// first against the greedy list (deterministic: propensity 1, step 1); the policy then draws the
// other slots from the rule-compliant candidates (ranked, best first, each first category kept
// while it has fewer than max_per_category items among the kept ones and the new-item slots), so
// every list a policy can draw obeys the rules.
//
// Randomness: a base::Rng seeded by ServeRequest::policy_seed (the recommendation id's bits), so
// the same state, request and seed give the same list and the same propensities.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/impression.h"
#include "flywheel/loop_options.h"
#include "flywheel/result.h"
#include "flywheel/status.h"

#include "engine/serve/request.h"

namespace flywheel::engine {

struct ServeContext;

enum class PolicyKind { kGreedy, kEpsilon, kBoltzmann, kThompson };

struct ListPolicySpec {
  PolicyKind kind = PolicyKind::kGreedy;
  double param = 0;  // epsilon: E in (0, 1]; boltzmann: T > 0; thompson: S > 0
  int pool = 0;  // candidates beyond (epsilon) or among (boltzmann, thompson) the list; 0: default
  int samples = 0;      // Monte Carlo samples of the marginal estimators; 0: default (256)
  bool reward = false;  // re-rank with the context's CandidateReranker first
  // The canonical form ("greedy", "epsilon:0.1", "boltzmann:0.5/pool=30", "reward+epsilon:0.1"):
  // what impressions log and RecommendResult::policy says.
  std::string Canonical() const;
};

inline constexpr int kDefaultEpsilonPool = 20;
inline constexpr int kDefaultSamplingPool = 50;
inline constexpr int kDefaultPolicySamples = 256;

// Parses one policy spec: "<name>[:<param>][/pool=N][/samples=N]" with name greedy, epsilon,
// boltzmann, thompson, optionally prefixed "reward+" (or "reward" alone: reward+greedy).
// kInvalidArgument naming the spec on anything else.
Result<ListPolicySpec> ParseListPolicy(std::string_view spec);

// "[<model>:]<policy>" (`flywheel ope --policy`, `flywheel simulate --counterfactual`): a head
// before the first ':' that is not a policy name names the model (empty: the default model).
// The policy part is not parsed here. kInvalidArgument for a model without a policy.
struct ModelPolicy {
  std::string model;
  std::string policy;
};
Result<ModelPolicy> SplitModelPolicy(std::string_view spec);

// Experiment arms: "<spec>@<share>,<spec>@<share>..." (shares in (0, 1], summing to 1) or one
// spec (share 1).
struct PolicyArm {
  ListPolicySpec spec;
  double share = 1;
};
Result<std::vector<PolicyArm>> ParsePolicyArms(std::string_view arms);
// The arm of `user`: a hash of (salt, user id) mapped to [0, 1) and the arms' cumulative shares.
// Deterministic; a user stays in its arm while the arms and the salt stay.
const ListPolicySpec& ArmFor(const std::vector<PolicyArm>& arms, std::string_view user,
                             std::string_view salt);
// Engine::Open: loop.policy parses (kInvalidArgument, field "loop.policy").
Status ValidateLoopPolicy(const LoopOptions& loop);

// Re-ranks the scored candidates (best first on return) for the "reward" policies; the
// RewardRanker (src/engine/loop/reward_ranker.h) implements it. Called under the state's shared
// lock; must be thread-safe for concurrent readers.
class CandidateReranker {
 public:
  virtual ~CandidateReranker() = default;
  virtual void Rerank(const ServeContext& ctx, const ServeRequest& request,
                      std::vector<ServeItem>* candidates) const = 0;
};

// The policy stage: after Score, fills result->items (the k slots) with propensities and steps.
// Greedy runs SelectAndExplore unchanged. kFailedPrecondition for a "reward" policy when the
// context has no reranker.
Status ApplyListPolicy(const ServeContext& ctx, const ListPolicySpec& spec,
                       const ServeRequest& request, ServeResult* result);

// Runs every stage with the policy (Prepare, Retrieve, Score, the policy, Explain).
Status RunPipelineWithPolicy(const ServeContext& ctx, const ListPolicySpec& spec,
                             ServeRequest* request, ServeResult* result);

// For off-policy evaluation: the probability that `spec` (with the context's model and state)
// shows each `shown` item at its position: `propensity` the marginal (0 when it cannot), `step`
// the probability given the shown items above it (NaN unless the shown positions are 0..n-1;
// 0 when the list is impossible). Runs Prepare, Retrieve, Score (the same code as a request);
// `request` holds what was asked (user, state, k, filters, now_ms, policy_seed for the Monte
// Carlo estimators). An item kNoItem (unknown to the state) gets 0. kInvalidArgument when a
// position is >= request.k or positions are not increasing.
struct ShownSlot {
  ItemIdx item = kNoItem;
  uint32_t position = 0;
};
struct PolicyPropensity {
  double propensity = 0;
  double step = 0;
};
Result<std::vector<PolicyPropensity>> PolicyPropensities(const ServeContext& ctx,
                                                         ServeRequest request,
                                                         const ListPolicySpec& spec,
                                                         std::span<const ShownSlot> shown);

}  // namespace flywheel::engine
