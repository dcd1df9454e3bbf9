// The list-policy stage (policy.h): the plan of one request (new-item slots, rule-compliant
// candidates), the draw, and the propensities for serving and for off-policy evaluation.
#include "engine/serve/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "engine/serve/pipeline.h"
#include "engine/serve/policy_sampler.h"

namespace flywheel::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What a non-greedy policy draws over for one request.
struct Plan {
  std::vector<ServeItem> fixed;     // the new-item slots, chosen against the greedy list
  std::vector<ServeItem> eligible;  // rule-compliant ranked candidates, best first
  int slots = 0;                    // policy slots
  int before_fixed = 0;             // policy slots placed before the new-item slots
  // Output position of policy slot j.
  int Position(int j) const { return j < before_fixed ? j : j + static_cast<int>(fixed.size()); }
  // The policy slot of output position p; -1 for a new-item slot.
  int SlotOf(int p) const {
    if (p < before_fixed) {
      return p;
    }
    const int fixed_end = before_fixed + static_cast<int>(fixed.size());
    return p < fixed_end ? -1 : p - static_cast<int>(fixed.size());
  }
};

int FirstCategory(const Catalog& catalog, ItemIdx item) {
  const ItemInfo* info = catalog.item(item);
  return info == nullptr || info->categories.empty() ? -1
                                                     : static_cast<int>(info->categories.front());
}

Plan MakePlan(const ServeContext& ctx, const ServeRequest& q, ServeResult* scored) {
  Plan plan;
  ServeResult greedy;
  greedy.candidates = scored->candidates;
  SelectAndExplore(ctx, q, &greedy);
  plan.before_fixed = static_cast<int>(greedy.items.size());
  for (size_t i = 0; i < greedy.items.size(); ++i) {
    if (greedy.items[i].exploration) {
      plan.before_fixed = std::min(plan.before_fixed, static_cast<int>(i));
      plan.fixed.push_back(greedy.items[i]);
    }
  }
  const int cap = ctx.options.max_per_category;
  std::unordered_map<int, int> per_category;
  auto counted = [&](ItemIdx item) {
    const int c = FirstCategory(ctx.catalog, item);
    return cap > 0 && c >= 0 ? &per_category[c] : nullptr;
  };
  for (const ServeItem& f : plan.fixed) {
    if (int* n = counted(f.item)) {
      ++*n;
    }
  }
  for (const ServeItem& p : scored->candidates.items()) {
    const bool is_fixed = std::any_of(plan.fixed.begin(), plan.fixed.end(),
                                      [&](const ServeItem& f) { return f.item == p.item; });
    if (!std::isfinite(p.score) || is_fixed) {  // -inf: unscored; NaN: a broken score
      continue;
    }
    int* n = counted(p.item);
    if (n != nullptr && *n >= cap) {
      continue;
    }
    if (n != nullptr) {
      ++*n;
    }
    plan.eligible.push_back(p);
  }
  plan.slots =
      std::min(q.k - static_cast<int>(plan.fixed.size()), static_cast<int>(plan.eligible.size()));
  plan.slots = std::max(plan.slots, 0);
  return plan;
}

std::unique_ptr<PolicySampler> SamplerFor(const ServeContext& ctx, const ListPolicySpec& spec,
                                          const Plan& plan, uint64_t seed) {
  std::vector<double> scores;
  std::vector<double> popularity;
  for (const ServeItem& p : plan.eligible) {
    scores.push_back(p.score);
    const ItemInfo* info = ctx.catalog.item(p.item);
    popularity.push_back(info == nullptr ? 0.0 : static_cast<double>(info->events));
  }
  return MakeSampler(spec, std::move(scores), popularity, plan.slots, seed);
}

Status Rerank(const ServeContext& ctx, const ListPolicySpec& spec, const ServeRequest& q,
              ServeResult* result) {
  if (ctx.reranker == nullptr) {
    return Status::InvalidArgument("policy '" + spec.Canonical() +
                                   "': no reward ranker is configured on this engine")
        .WithField("policy");
  }
  std::vector<ServeItem>& items = result->candidates.items();
  ctx.reranker->Rerank(ctx, q, &items);
  std::stable_sort(items.begin(), items.end(),
                   [](const ServeItem& a, const ServeItem& b) { return a.score > b.score; });
  return Status::Ok();
}

}  // namespace

Status ApplyListPolicy(const ServeContext& ctx, const ListPolicySpec& spec, const ServeRequest& q,
                       ServeResult* result) {
  if (spec.reward) {
    FLYWHEEL_RETURN_IF_ERROR(Rerank(ctx, spec, q, result));
  }
  if (spec.kind == PolicyKind::kGreedy) {
    SelectAndExplore(ctx, q, result);
    return Status::Ok();
  }
  Plan plan = MakePlan(ctx, q, result);
  const std::unique_ptr<PolicySampler> sampler = SamplerFor(ctx, spec, plan, q.policy_seed);
  base::Rng rng(q.policy_seed);
  const std::vector<int> chosen = sampler->Draw(&rng);
  std::vector<ServeItem> drawn;
  for (int j = 0; j < static_cast<int>(chosen.size()); ++j) {
    ServeItem p = plan.eligible[chosen[j]];
    p.propensity = sampler->Marginal(j, chosen[j]);
    p.step = sampler->Step(std::span<const int>(chosen.data(), j), chosen[j]);
    p.exploration = chosen[j] != j;  // off the greedy order
    drawn.push_back(std::move(p));
  }
  result->items.clear();
  const int before = std::min(plan.before_fixed, static_cast<int>(drawn.size()));
  for (int j = 0; j < before; ++j) {
    result->items.push_back(std::move(drawn[j]));
  }
  for (ServeItem& f : plan.fixed) {
    result->items.push_back(std::move(f));
  }
  for (size_t j = before; j < drawn.size(); ++j) {
    result->items.push_back(std::move(drawn[j]));
  }
  return Status::Ok();
}

Status RunPipelineWithPolicy(const ServeContext& ctx, const ListPolicySpec& spec,
                             ServeRequest* request, ServeResult* result) {
  Prepare(ctx, request);
  Retrieve(ctx, *request, result);
  Score(ctx, *request, result);
  FLYWHEEL_RETURN_IF_ERROR(ApplyListPolicy(ctx, spec, *request, result));
  Explain(ctx, *request, result);
  return Status::Ok();
}

namespace {

// Greedy (and reward+greedy): the deterministic list; 1 where the shown item is the list's.
std::vector<PolicyPropensity> GreedyPropensities(const ServeContext& ctx, const ServeRequest& q,
                                                 ServeResult* scored,
                                                 std::span<const ShownSlot> shown,
                                                 bool contiguous) {
  SelectAndExplore(ctx, q, scored);
  std::vector<PolicyPropensity> out;
  bool possible = true;
  for (const ShownSlot& s : shown) {
    const bool match = s.item != kNoItem && s.position < scored->items.size() &&
                       scored->items[s.position].item == s.item;
    out.push_back(
        PolicyPropensity{match ? 1.0 : 0.0, !contiguous ? kNaN : (possible && match ? 1.0 : 0.0)});
    possible = possible && match;
  }
  return out;
}

}  // namespace

Result<std::vector<PolicyPropensity>> PolicyPropensities(const ServeContext& ctx,
                                                         ServeRequest request,
                                                         const ListPolicySpec& spec,
                                                         std::span<const ShownSlot> shown) {
  bool contiguous = true;
  for (size_t i = 0; i < shown.size(); ++i) {
    if (shown[i].position >= static_cast<uint32_t>(std::max(request.k, 0)) ||
        (i > 0 && shown[i].position <= shown[i - 1].position)) {
      return Status::InvalidArgument("shown[" + std::to_string(i) +
                                     "]: positions must increase and be below k")
          .WithField("shown");
    }
    contiguous = contiguous && shown[i].position == i;
  }
  ServeResult result;
  Prepare(ctx, &request);
  Retrieve(ctx, request, &result);
  Score(ctx, request, &result);
  if (spec.reward) {
    FLYWHEEL_RETURN_IF_ERROR(Rerank(ctx, spec, request, &result));
  }
  if (spec.kind == PolicyKind::kGreedy) {
    return GreedyPropensities(ctx, request, &result, shown, contiguous);
  }
  const Plan plan = MakePlan(ctx, request, &result);
  const std::unique_ptr<PolicySampler> sampler = SamplerFor(ctx, spec, plan, request.policy_seed);
  std::unordered_map<ItemIdx, int> index;
  for (size_t i = 0; i < plan.eligible.size(); ++i) {
    index.emplace(plan.eligible[i].item, static_cast<int>(i));
  }
  std::vector<PolicyPropensity> out;
  std::vector<int> prefix;  // the shown candidates at the policy slots above
  bool possible = true;
  for (const ShownSlot& s : shown) {
    const int slot = plan.SlotOf(static_cast<int>(s.position));
    PolicyPropensity p;
    if (slot < 0) {  // a new-item slot: deterministic
      const ServeItem& f = plan.fixed[s.position - plan.before_fixed];
      p.propensity = f.item == s.item ? 1.0 : 0.0;
      p.step = p.propensity;
    } else {
      const auto it = s.item == kNoItem ? index.end() : index.find(s.item);
      const int idx = it == index.end() ? -1 : it->second;
      p.propensity = sampler->Marginal(slot, idx);
      p.step = sampler->Step(prefix, idx);
      prefix.push_back(idx);
    }
    p.step = !contiguous ? kNaN : (possible ? p.step : 0.0);
    possible = possible && p.step > 0;
    out.push_back(p);
  }
  return out;
}

}  // namespace flywheel::engine
