// Protocol L: leave-last-out with full ranking (the SASRec protocol).
//
// A user's sequence is their distinct items in order of first interaction (events with positive
// type weight). Last item = test, second-to-last = validation, the rest = training; users with
// fewer than 3 distinct items contribute training data only. Training events are every event of
// a user strictly before the first interaction with their validation item. The model is Fit on
// all training events (time order); then, per user, it ranks the whole catalogue with the
// training history as input for the validation item, and with training + validation as input for
// the test item, excluding the items of that input history.
#include <algorithm>
#include <string>
#include <unordered_set>

#include "eval/fit_cache.h"
#include "eval/metrics.h"
#include "eval/protocols.h"
#include "model/user_state.h"

namespace flywheel::eval::internal {
namespace {

using nlohmann::json;

}  // namespace

LeaveLastOutSplit MakeLeaveLastOutSplit(const std::vector<data::Interaction>& events,
                                        size_t num_users) {
  // Per user, the indices of the first interaction with each distinct item.
  std::vector<std::vector<size_t>> firsts(num_users);
  {
    std::vector<std::unordered_set<ItemIdx>> seen_set(num_users);
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (e.weight > 0 && seen_set[e.user].insert(e.item).second) {
        firsts[e.user].push_back(i);
      }
    }
  }
  LeaveLastOutSplit split;
  split.valid_event.assign(num_users, SIZE_MAX);
  split.test_event.assign(num_users, SIZE_MAX);
  for (size_t u = 0; u < num_users; ++u) {
    if (firsts[u].size() >= 3) {
      split.test_event[u] = firsts[u].back();
      split.valid_event[u] = firsts[u][firsts[u].size() - 2];
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (split.valid_event[e.user] == SIZE_MAX || i < split.valid_event[e.user]) {
      split.train.push_back(e);
    }
  }
  return split;
}

namespace {

int RankFor(const model::Recommender& model, const model::UserState& state,
            const data::Interaction& target, int k, std::vector<model::ScoredItem>* top) {
  model::RecommendRequest request;
  request.user = target.user;
  request.k = k;
  request.now_ms = target.ts_ms;
  request.user_state = &state;
  request.exclude = state.seen_items();
  model.Recommend(request, top);
  return RankOf(*top, target.item, k);
}

}  // namespace

Status RunLeaveLastOut(const ProtocolContext& ctx, const ModelEntry& entry, json* doc) {
  const auto& events = ctx.dataset->events;
  const size_t num_users = ctx.dataset->users.size();
  const int64_t wall_start = NowNs();
  LeaveLastOutSplit split = MakeLeaveLastOutSplit(events, num_users);
  FLYWHEEL_ASSIGN_OR_RETURN(auto model, entry.factory());
  DeliverItemContent(*ctx.dataset, 0, ctx.dataset->items.size(), model.get());  // the catalogue
  const int64_t fit_start = NowNs();
  nlohmann::json fit_cache;
  FLYWHEEL_RETURN_IF_ERROR(
      FitWithCache(ctx.options->fit_cache, *ctx.dataset, split.train, model.get(), &fit_cache));
  const double fit_seconds = SecondsSince(fit_start);

  model::UserStateStore users;
  for (const auto& e : split.train) {
    users.Get(e.user).Add(e);
  }
  const int k_small = ctx.options->k;
  const int k_large = std::max(20, ctx.options->k);
  HitAccumulator valid_small, test_small, test_large;
  CoverageCounter coverage;
  std::vector<model::ScoredItem> top;
  for (size_t u = 0; u < num_users; ++u) {
    if (split.test_event[u] == SIZE_MAX) {
      continue;
    }
    model::UserState& state = users.Get(static_cast<UserIdx>(u));
    const auto& valid = events[split.valid_event[u]];
    valid_small.Add(RankFor(*model, state, valid, k_small, &top));
    state.Add(valid);
    const int rank = RankFor(*model, state, events[split.test_event[u]], k_large, &top);
    test_large.Add(rank);
    test_small.Add(rank <= k_small ? rank : 0);
    coverage.Add(std::span(top.data(), std::min(top.size(), static_cast<size_t>(k_small))));
  }
  // Metrics at the reported K under the names every protocol uses (hr, ndcg, mrr, coverage),
  // the @20 variants beside them (../shared/guides/evaluation.md, "Reporting").
  const std::string kl = std::to_string(k_large);
  json result;
  result["model"] = model->name();
  result["params"] = ParamsJson(*model);
  result["update"] = "batch";
  result["metrics"] = {
      {"hr", test_small.hr()},
      {"ndcg", test_small.ndcg()},
      {"mrr", test_small.mrr()},
      {"coverage", coverage.Coverage(static_cast<size_t>(ctx.dataset->num_items_with_events))},
      {"hr@" + kl, test_large.hr()},
      {"ndcg@" + kl, test_large.ndcg()},
      {"mrr@" + kl, test_large.mrr()},
      {"valid_hr", valid_small.hr()},
      {"valid_ndcg", valid_small.ndcg()}};
  result["scored"] = test_small.count();
  if (const KeyValues diagnostics = model->diagnostics(); !diagnostics.empty()) {
    for (const auto& [key, value] : diagnostics) {
      result["diagnostics"][key] = value;
    }
  }
  if (!fit_cache.is_null()) {
    result["fit_cache"] = fit_cache;
  }
  if (ctx.options->timing) {
    result["fit_seconds"] = fit_seconds;
    result["seconds"] = SecondsSince(wall_start);
  }
  (*doc)["events_scored"] = test_small.count();
  (*doc)["train_events"] = split.train.size();
  // The sequences use every positive-weight interaction; the positive filter does not apply.
  (*doc)["filters"]["positive"] = "all";
  (*doc)["results"].push_back(std::move(result));
  return Status::Ok();
}

}  // namespace flywheel::eval::internal
