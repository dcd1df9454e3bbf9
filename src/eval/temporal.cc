// Protocol T: temporal split.
//
// T = the `split` quantile of event timestamps (default 0.8). The model is Fit on events before
// T. A user's test set is the items they interacted with (positive filter) at or after T that
// they had not interacted with before T. The test period is then replayed in time order; at the
// time of each of a user's test events whose item is still in their remaining test set, the
// model ranks the catalogue (excluding items seen so far) and the list is scored against the
// remaining test set (current and future test items), Precision/Recall/F1/NDCG@K; the item then
// leaves the remaining set. Scores are averaged per user, then over users.
//   frozen: the model is not updated after T (user histories still grow: they are its input);
//   online: the model Observes every test-period event after its request.
// The difference online - frozen is the value of incremental learning on that dataset.
// Each result also reports the classic single-shot metrics at T ("*_at_split": one list per
// user at T against the whole test set), identical for both modes.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/progress.h"
#include "eval/fit_cache.h"
#include "eval/metrics.h"
#include "eval/protocols.h"
#include "model/user_state.h"

namespace flywheel::eval::internal {
namespace {

using nlohmann::json;

struct UserMean {
  SetMetrics sum;
  int64_t requests = 0;
  void Add(const SetMetrics& m) {
    sum.precision += m.precision;
    sum.recall += m.recall;
    sum.f1 += m.f1;
    sum.ndcg += m.ndcg;
    ++requests;
  }
};

struct MeanOverUsers {
  SetMetrics sum;
  int64_t users = 0;
  void AddUser(const UserMean& u) {
    if (u.requests == 0) {
      return;
    }
    const double n = static_cast<double>(u.requests);
    sum.precision += u.sum.precision / n;
    sum.recall += u.sum.recall / n;
    sum.f1 += u.sum.f1 / n;
    sum.ndcg += u.sum.ndcg / n;
    ++users;
  }
  double Mean(double total) const { return users ? total / static_cast<double>(users) : 0.0; }
};

size_t SplitIndex(const std::vector<data::Interaction>& events, double quantile) {
  if (events.empty()) {
    return 0;
  }
  const auto q = static_cast<size_t>(quantile * static_cast<double>(events.size() - 1));
  const TimestampMs split_ts = events[q].ts_ms;
  auto it = std::lower_bound(events.begin(), events.end(), split_ts,
                             [](const data::Interaction& e, TimestampMs t) { return e.ts_ms < t; });
  size_t index = static_cast<size_t>(it - events.begin());
  if (index == 0 || events.front().ts_ms == events.back().ts_ms) {
    index = q;  // no usable timestamps: split by position
  }
  return index;
}

using TestSets = std::unordered_map<UserIdx, std::unordered_set<ItemIdx>>;

TestSets BuildTestSets(const ProtocolContext& ctx, size_t split,
                       const model::UserStateStore& before) {
  TestSets sets;
  const auto& events = ctx.dataset->events;
  for (size_t i = split; i < events.size(); ++i) {
    const auto& e = events[i];
    if (ctx.positive->Accept(e) && !before.Find(e.user).HasSeen(e.item)) {
      sets[e.user].insert(e.item);
    }
  }
  return sets;
}

model::RecommendRequest MakeRequest(const ProtocolContext& ctx, UserIdx user,
                                    const model::UserState& state, TimestampMs now) {
  model::RecommendRequest request;
  request.user = user;
  request.k = ctx.options->k;
  request.now_ms = now;
  request.user_state = &state;
  if (ctx.options->exclude_seen) {
    request.exclude = state.seen_items();
  }
  return request;
}

// Classic single-shot metrics at T: one list per test user against the whole test set.
MeanOverUsers ScoreAtSplit(const ProtocolContext& ctx, const model::Recommender& model,
                           const model::UserStateStore& users, TestSets& remaining,
                           const std::vector<UserIdx>& test_users, TimestampMs split_ts) {
  MeanOverUsers at_split;
  std::vector<model::ScoredItem> top;
  for (UserIdx user : test_users) {
    model.Recommend(MakeRequest(ctx, user, users.Find(user), split_ts), &top);
    UserMean one;
    one.Add(ScoreAgainstSet(top, ctx.options->k, remaining[user]));
    at_split.AddUser(one);
  }
  return at_split;
}

json MetricsJson(const MeanOverUsers& mean, const MeanOverUsers& at_split,
                 const CoverageCounter& coverage, size_t items_with_events) {
  return {{"precision", mean.Mean(mean.sum.precision)},
          {"recall", mean.Mean(mean.sum.recall)},
          {"f1", mean.Mean(mean.sum.f1)},
          {"ndcg", mean.Mean(mean.sum.ndcg)},
          {"coverage", coverage.Coverage(items_with_events)},
          {"precision_at_split", at_split.Mean(at_split.sum.precision)},
          {"recall_at_split", at_split.Mean(at_split.sum.recall)},
          {"ndcg_at_split", at_split.Mean(at_split.sum.ndcg)}};
}

}  // namespace

Status RunTemporal(const ProtocolContext& ctx, const ModelEntry& entry, json* doc) {
  const auto& events = ctx.dataset->events;
  const size_t split = SplitIndex(events, ctx.options->split);
  std::vector<UpdateMode> modes = ctx.options->updates;
  if (modes.empty()) {
    modes = {UpdateMode{UpdateMode::Kind::kFrozen, 0}, UpdateMode{}};
  }
  for (const UpdateMode& mode : modes) {
    if (mode.kind == UpdateMode::Kind::kRetrain) {
      return Status::InvalidArgument("temporal protocol supports --update frozen|online");
    }
    const int64_t wall_start = NowNs();
    FLYWHEEL_ASSIGN_OR_RETURN(auto model, entry.factory());
    DeliverItemContent(*ctx.dataset, 0, ctx.dataset->items.size(), model.get());  // the catalogue
    FLYWHEEL_RETURN_IF_ERROR(FitWithCache(ctx.options->fit_cache, *ctx.dataset,
                                          std::span(events.data(), split), model.get(), nullptr));
    model::UserStateStore users;
    for (size_t i = 0; i < split; ++i) {
      users.Get(events[i].user).Add(events[i]);
    }
    TestSets remaining = BuildTestSets(ctx, split, users);
    std::vector<UserIdx> test_users;
    for (const auto& [user, set] : remaining) {
      test_users.push_back(user);
    }
    std::sort(test_users.begin(), test_users.end());
    const MeanOverUsers at_split =
        ScoreAtSplit(ctx, *model, users, remaining, test_users, events[split].ts_ms);
    std::vector<model::ScoredItem> top;
    // Replay of the test period.
    std::unordered_map<UserIdx, UserMean> per_user;
    CoverageCounter coverage;
    RatingErrorAccumulator rating_error;
    base::ProgressBar progress("eval " + entry.name + " " + mode.ToString(),
                               static_cast<int64_t>(events.size() - split), ctx.options->progress);
    for (size_t i = split; i < events.size(); ++i) {
      const auto& e = events[i];
      auto it = remaining.find(e.user);
      if (it != remaining.end() && it->second.count(e.item) != 0) {
        model->Recommend(MakeRequest(ctx, e.user, users.Find(e.user), e.ts_ms), &top);
        per_user[e.user].Add(ScoreAgainstSet(top, ctx.options->k, it->second));
        coverage.Add(top);
        it->second.erase(e.item);
      }
      AddRatingError(ctx, *model, e, &rating_error);
      if (mode.kind == UpdateMode::Kind::kOnline) {
        model->Observe(e, users.Get(e.user));
      }
      users.Get(e.user).Add(e);
      progress.Update(static_cast<int64_t>(i - split + 1));
    }
    progress.Finish();
    MeanOverUsers mean;
    int64_t requests = 0;
    for (UserIdx user : test_users) {
      mean.AddUser(per_user[user]);
      requests += per_user[user].requests;
    }
    json result;
    result["model"] = model->name();
    result["params"] = ParamsJson(*model);
    result["update"] = mode.ToString();
    result["metrics"] = MetricsJson(mean, at_split, coverage,
                                    static_cast<size_t>(ctx.dataset->num_items_with_events));
    result["scored"] = requests;
    RatingErrorJson(rating_error, &result);
    result["test_users"] = mean.users;
    if (ctx.options->timing) {
      result["seconds"] = SecondsSince(wall_start);
    }
    (*doc)["events_scored"] = requests;
    (*doc)["split_ts_ms"] = split < events.size() ? events[split].ts_ms : 0;
    (*doc)["train_events"] = split;
    (*doc)["results"].push_back(std::move(result));
  }
  return Status::Ok();
}

}  // namespace flywheel::eval::internal
