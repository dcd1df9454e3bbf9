#include "engine/loop/ope_replay.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "base/random.h"
#include "engine/serve/pipeline.h"

namespace flywheel::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

uint64_t HashId(std::string_view id) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (const char c : id) {
    h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  }
  return base::Mix64(h);
}

}  // namespace

Result<OpeTarget> ParseOpeTarget(std::string_view spec, const LearnedState& state) {
  OpeTarget target;
  target.spec = std::string(spec);
  Result<ModelPolicy> split = SplitModelPolicy(spec);
  if (!split.ok()) {
    return Status::InvalidArgument("ope: --policy '" + target.spec +
                                   "': " + split.status().message());
  }
  target.model = split->model;
  Result<ListPolicySpec> parsed = ParseListPolicy(split->policy);
  if (!parsed.ok()) {
    return Status::InvalidArgument("ope: --policy '" + target.spec +
                                   "': " + parsed.status().message());
  }
  target.policy = *parsed;
  Result<size_t> index = state.ModelIndex(target.model);
  if (!index.ok()) {
    return Status::InvalidArgument("ope: --policy '" + target.spec +
                                   "': " + index.status().message());
  }
  target.model_index = *index;
  return target;
}

OpeTargetView TargetView(const LearnedState& state, const PipelineOptions& pipeline,
                         const OpeTarget& target, const Impression& impression, size_t k,
                         uint64_t seed) {
  OpeTargetView view;
  view.marginal.assign(impression.items.size(), kNaN);
  view.step.assign(impression.items.size(), kNaN);
  const ServeContext ctx{*state.models[target.model_index],
                         state.catalog,
                         state.trending,
                         nullptr,
                         pipeline,
                         state.types(),
                         state.reward_reranker()};
  ServeRequest request;
  request.user = state.user_ids.Find(impression.user).value_or(kNoUser);
  request.state = &state.users.Find(request.user);
  request.now_ms = impression.ts_ms;
  request.policy_seed = base::Mix64(seed ^ HashId(impression.recommendation_id));
  std::vector<ShownSlot> shown;
  uint32_t last_position = 0;
  for (const ShownItem& item : impression.items) {
    const std::optional<uint32_t> idx = state.item_ids.Find(item.item);
    shown.push_back({idx.value_or(kNoItem), item.position});
    last_position = std::max(last_position, item.position);
  }
  const int logged_k = static_cast<int>(last_position) + 1;
  const int own_k = k == 0 ? static_cast<int>(impression.items.size()) : static_cast<int>(k);
  // The propensities need every logged position inside the list.
  request.k = std::max(logged_k, own_k);
  Result<std::vector<PolicyPropensity>> probabilities =
      PolicyPropensities(ctx, request, target.policy, shown);
  if (probabilities.ok() && probabilities->size() == shown.size()) {
    for (size_t i = 0; i < shown.size(); ++i) {
      view.marginal[i] = (*probabilities)[i].propensity;
      view.step[i] = (*probabilities)[i].step;
    }
  }
  ServeRequest own = request;
  own.k = own_k;
  ServeResult result;
  if (RunPipelineWithPolicy(ctx, target.policy, &own, &result).ok()) {
    for (const ServeItem& item : result.items) {
      if (item.item < state.item_ids.size()) {
        view.list.push_back(state.item_ids.external(item.item));
      }
    }
  }
  return view;
}

void OpeCollector::Expect(uint64_t seq, OpeList list) {
  list.seq = seq;
  pending_[seq] = std::move(list);
}

void OpeCollector::OnClosed(const ClosedImpression& closed) {
  auto it = pending_.find(closed.seq);
  if (it == pending_.end()) {
    ++unknown_;
    return;
  }
  OpeList list = std::move(it->second);
  pending_.erase(it);
  // Rewards by position (both lists are in position order; a slot the attribution does not
  // report keeps reward 0, unclicked).
  size_t j = 0;
  for (OpeSlot& slot : list.slots) {
    while (j < closed.slots.size() && closed.slots[j].position < slot.position) {
      ++j;
    }
    if (j < closed.slots.size() && closed.slots[j].position == slot.position) {
      slot.reward = closed.slots[j].reward;
      slot.clicked = closed.slots[j].clicked;
    }
  }
  closed_.push_back(std::move(list));
}

std::vector<OpeList> OpeCollector::Take() {
  std::sort(closed_.begin(), closed_.end(),
            [](const OpeList& a, const OpeList& b) { return a.seq < b.seq; });
  return std::move(closed_);
}

}  // namespace flywheel::engine
