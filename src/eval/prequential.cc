// Protocol P: prequential (test-then-train) replay. See ../shared/guides/evaluation.md.
// The replay rules are eval/replay.h's (shared with `flywheel replay`); the target is an engine
// or the model alone (eval/targets.h); this file adds the harness's statistics (splits, series,
// coverage, popularity) and the result document.
#include <algorithm>
#include <cmath>
#include <string>

#include "base/progress.h"
#include "eval/latency.h"
#include "eval/metrics.h"
#include "eval/protocols.h"
#include "eval/replay.h"
#include "eval/targets.h"

namespace flywheel::eval::internal {
namespace {

using nlohmann::json;

constexpr int64_t kColdThreshold = 5;  // "< 5 prior events"

// Index of the first event whose time is >= t0 + fraction * (tN - t0).
size_t WarmupEnd(const std::vector<data::Interaction>& events, double fraction) {
  if (fraction <= 0 || events.empty()) {
    return 0;
  }
  const double t0 = static_cast<double>(events.front().ts_ms);
  const double t1 = static_cast<double>(events.back().ts_ms);
  const auto cut = static_cast<TimestampMs>(std::ceil(t0 + fraction * (t1 - t0)));
  auto it = std::lower_bound(events.begin(), events.end(), cut,
                             [](const data::Interaction& e, TimestampMs t) { return e.ts_ms < t; });
  size_t end = static_cast<size_t>(it - events.begin());
  if (end == 0 && t1 == t0) {  // no timestamps: fall back to a fraction of the events
    end = static_cast<size_t>(fraction * static_cast<double>(events.size()));
  }
  return end;
}

struct Window {
  HitAccumulator hits;
  TimestampMs end_ts = 0;
  int64_t end_event = 0;
};

// HR/NDCG/MRR of a split at K and, when the replay ranks at 20 (ReplayRules::at20), at 20.
struct SplitHits {
  HitAccumulator at_k;
  HitAccumulator at20;

  void Add(const TestedEvent& t) {
    at_k.Add(t.rank);
    if (t.scored20) {
      at20.Add(t.rank20);
    }
  }
};

// The harness's statistics of one model's replay (the replay protocol itself counts HR, NDCG
// and MRR at K and at 20: eval/replay.h).
struct Stats {
  std::vector<int64_t> user_events;  // prior events per user (all types)
  std::vector<int64_t> item_events;  // prior events per item (all types)
  PopularityPercentile popularity;
  SplitHits cold_user, cold_item, warm;
  SplitHits first_half, second_half;  // by position in the replayed stream
  CoverageCounter coverage;
  double popularity_sum = 0;
  int64_t popularity_n = 0;
  std::vector<Window> windows;
  double target_seconds = 0;  // time inside Recommend (K and @20 requests) and Observe
};

int64_t PriorCount(const std::vector<int64_t>& counts, size_t index) {
  return index < counts.size() ? counts[index] : 0;
}

void Remember(const data::Interaction& event, Stats* r) {
  for (auto [counts, index] : {std::pair{&r->user_events, static_cast<size_t>(event.user)},
                               std::pair{&r->item_events, static_cast<size_t>(event.item)}}) {
    if (index >= counts->size()) {
      counts->resize(index + 1, 0);
    }
    ++(*counts)[index];
  }
  if (event.weight > 0) {
    r->popularity.Increment(event.item);
  }
}

void Score(const data::Interaction& event, const TestedEvent& t, bool first_half, Window* window,
           Stats* r) {
  (first_half ? r->first_half : r->second_half).Add(t);
  window->hits.Add(t.rank);
  const bool cold_user = PriorCount(r->user_events, event.user) < kColdThreshold;
  const bool cold_item = PriorCount(r->item_events, event.item) < kColdThreshold;
  (cold_user ? r->cold_user : r->warm).Add(t);
  if (cold_item) {
    r->cold_item.Add(t);
  }
  const std::vector<model::ScoredItem>& top = *t.top;  // the K list: coverage and popularity
  r->coverage.Add(top);
  for (const auto& entry : top) {
    r->popularity_sum += r->popularity.Percentile(entry.item);
    ++r->popularity_n;
  }
}

json SplitJson(const SplitHits& split, bool at20) {
  const HitAccumulator& acc = split.at_k;
  json out = {{"count", acc.count()}, {"hr", acc.hr()}, {"ndcg", acc.ndcg()}, {"mrr", acc.mrr()}};
  if (at20) {
    out["hr@20"] = split.at20.hr();
    out["ndcg@20"] = split.at20.ndcg();
    out["mrr@20"] = split.at20.mrr();
  }
  return out;
}

json SeriesJson(const std::vector<Window>& windows) {
  json series;
  series["x_label"] = "stream time";
  std::vector<TimestampMs> ts;
  std::vector<int64_t> events;
  json hr = json::array();
  json ndcg = json::array();
  for (const Window& w : windows) {
    ts.push_back(w.end_ts);
    events.push_back(w.end_event);
    hr.push_back(w.hits.count() ? json(w.hits.hr()) : json(nullptr));
    ndcg.push_back(w.hits.count() ? json(w.hits.ndcg()) : json(nullptr));
  }
  series["ts_ms"] = ts;
  series["events"] = events;
  series["hr"] = hr;
  series["ndcg"] = ndcg;
  return series;
}

json ResultJson(const ProtocolContext& ctx, const model::Recommender& model, const Target& target,
                const PrequentialReplay& replay, const Stats& r, const UpdateMode& mode,
                size_t replayed, double wall_seconds) {
  const HitAccumulator& all = replay.hits();
  const bool at20 = replay.rules().at20;
  json result;
  result["model"] = model.name();
  result["params"] = ParamsJson(model);
  result["update"] = mode.ToString();
  result["target"] = target.kind();
  // Metrics at K under the names every protocol uses, the @20 variants beside them
  // (../shared/guides/evaluation.md, "Reporting"; eval/replay.h).
  json metrics = replay.MetricsJson();
  // Share of the catalogue known so far (items with any event, low ratings included).
  metrics["coverage"] = r.coverage.Coverage(r.item_events.size());
  metrics["popularity_percentile"] =
      r.popularity_n ? r.popularity_sum / static_cast<double>(r.popularity_n) : 0.0;
  result["metrics"] = std::move(metrics);
  result["scored"] = all.count();
  target.AddResultFields(&result);
  result["splits"] = {{"cold_user", SplitJson(r.cold_user, at20)},
                      {"warm_user", SplitJson(r.warm, at20)},
                      {"cold_item", SplitJson(r.cold_item, at20)},
                      {"first_half", SplitJson(r.first_half, at20)},
                      {"second_half", SplitJson(r.second_half, at20)}};
  result["series"] = SeriesJson(r.windows);
  if (ctx.options->timing) {
    result["events_per_second"] =
        wall_seconds > 0 ? static_cast<double>(replayed) / wall_seconds : 0.0;
    result["seconds"] = wall_seconds;
    result["model_seconds"] = r.target_seconds + target.fit_seconds();
    result["recommend_ms_p50"] = replay.recommend_latency().Quantile(0.5);
    result["recommend_ms_p99"] = replay.recommend_latency().Quantile(0.99);
    result["observe_ms_p50"] = replay.observe_latency().Quantile(0.5);
    result["observe_ms_p99"] = replay.observe_latency().Quantile(0.99);
    result["latency"] = {{"recommend", replay.recommend_latency().ToJson()},
                         {"observe", replay.observe_latency().ToJson()}};
  }
  return result;
}

Result<std::unique_ptr<Target>> MakeTarget(const ProtocolContext& ctx, const ModelEntry& entry,
                                           const UpdateMode& mode) {
  if (ctx.options->target == EvalTarget::kRawModel) {
    return std::unique_ptr<Target>(std::make_unique<RawModelTarget>(
        *ctx.dataset, entry, mode, ctx.options->fit_cache, ctx.rating_type));
  }
  if (mode.kind != UpdateMode::Kind::kOnline) {
    return Status::InvalidArgument("update mode " + mode.ToString() +
                                   " exists for the model alone (the engine learns from every "
                                   "event it ingests): add --raw-model");
  }
  if (entry.spec.name.empty()) {
    return Status::InvalidArgument("the engine target needs a registry model (ModelEntry::spec)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<EngineTarget> target,
                            EngineTarget::Open(*ctx.dataset, entry.spec, ctx.options->pipeline));
  return std::unique_ptr<Target>(std::move(target));
}

Status RunOne(const ProtocolContext& ctx, const ModelEntry& entry, const UpdateMode& mode,
              json* doc) {
  const auto& events = ctx.dataset->events;
  const size_t warm_end = WarmupEnd(events, ctx.options->warmup);
  const int64_t wall_start = NowNs();
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<model::Recommender> described, entry.factory());
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Target> target, MakeTarget(ctx, entry, mode));
  ReplayRules rules;
  rules.k = ctx.options->k;
  rules.exclude_seen = ctx.options->exclude_seen;
  rules.batch = 1;  // exact test-then-train
  rules.warmup_end = warm_end;
  PrequentialReplay replay(*ctx.dataset, *ctx.positive, rules, target.get());
  Stats r;
  const size_t replayed = events.size() - warm_end;
  const int num_windows = std::max(1, ctx.options->windows);
  r.windows.resize(static_cast<size_t>(num_windows));
  base::ProgressBar progress("eval " + entry.name + " " + mode.ToString(),
                             static_cast<int64_t>(replayed), ctx.options->progress);
  replay.OnTested([&](const TestedEvent& t) {
    r.target_seconds += (t.ms + t.ms20) * 1e-3;
    if (t.scored) {
      const size_t offset = t.index - warm_end;
      Score(events[t.index], t, 2 * offset < replayed,
            &r.windows[offset * static_cast<size_t>(num_windows) / replayed], &r);
    }
  });
  replay.OnObserved([&](size_t from, size_t to, double ms) {
    r.target_seconds += ms * 1e-3;
    for (size_t i = from; i < to; ++i) {
      Remember(events[i], &r);
      const size_t offset = i - warm_end;
      Window& window = r.windows[offset * static_cast<size_t>(num_windows) / replayed];
      window.end_ts = events[i].ts_ms;
      window.end_event = static_cast<int64_t>(i + 1);
    }
    progress.Update(static_cast<int64_t>(to - warm_end));
  });
  for (size_t i = 0; i < warm_end; ++i) {
    Remember(events[i], &r);
  }
  FLYWHEEL_RETURN_IF_ERROR(replay.Run());
  progress.Finish();
  (*doc)["events_scored"] = replay.hits().count();
  (*doc)["results"].push_back(
      ResultJson(ctx, *described, *target, replay, r, mode, replayed, SecondsSince(wall_start)));
  return Status::Ok();
}

}  // namespace

Status RunPrequential(const ProtocolContext& ctx, const ModelEntry& model, json* doc) {
  std::vector<UpdateMode> modes = ctx.options->updates;
  if (modes.empty()) {
    modes.push_back(UpdateMode{});
  }
  for (const UpdateMode& mode : modes) {
    FLYWHEEL_RETURN_IF_ERROR(RunOne(ctx, model, mode, doc));
  }
  return Status::Ok();
}

}  // namespace flywheel::eval::internal
