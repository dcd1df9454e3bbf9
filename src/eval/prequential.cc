// Protocol P: prequential (test-then-train) replay. See ../shared/guides/evaluation.md.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/progress.h"
#include "eval/fit_cache.h"
#include "eval/latency.h"
#include "eval/metrics.h"
#include "eval/protocols.h"
#include "model/user_state.h"

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

// State of one model's replay.
struct Replay {
  std::unique_ptr<model::Recommender> model;
  model::UserStateStore users;
  std::vector<int64_t> item_events;  // prior events per item (all types)
  PopularityPercentile popularity;
  HitAccumulator all, cold_user, cold_item, warm;
  HitAccumulator first_half, second_half;  // by position in the replayed stream
  nlohmann::json fit_cache;                // the warm-up Fit's cache entry, when --fit-cache
  CoverageCounter coverage;
  double popularity_sum = 0;
  int64_t popularity_n = 0;
  LatencyHistogram recommend_latency, observe_latency;
  RatingErrorAccumulator rating_error;
  std::vector<Window> windows;
  double model_seconds = 0;  // time inside Observe/Recommend/Fit
  int retrains = 0;
  size_t items_delivered = 0;  // items [0, n) have had their content delivered to the model
};

void Remember(const data::Interaction& event, Replay* r) {
  r->users.Get(event.user).Add(event);
  if (event.item >= r->item_events.size()) {
    r->item_events.resize(static_cast<size_t>(event.item) + 1, 0);
  }
  ++r->item_events[event.item];
  if (event.weight > 0) {
    r->popularity.Increment(event.item);
  }
}

void Score(const ProtocolContext& ctx, const data::Interaction& event, bool first_half, Replay* r,
           std::vector<model::ScoredItem>* top, Window* window) {
  const model::UserState& user = r->users.Find(event.user);
  model::RecommendRequest request;
  request.user = event.user;
  request.k = ctx.options->k;
  request.now_ms = event.ts_ms;
  request.user_state = &user;
  if (ctx.options->exclude_seen) {
    request.exclude = user.seen_items();
  }
  const int64_t start = NowNs();
  r->model->Recommend(request, top);
  const int64_t elapsed = NowNs() - start;
  r->model_seconds += static_cast<double>(elapsed) * 1e-9;
  r->recommend_latency.Add(static_cast<double>(elapsed) * 1e-6);
  const int rank = RankOf(*top, event.item, ctx.options->k);
  r->all.Add(rank);
  (first_half ? r->first_half : r->second_half).Add(rank);
  window->hits.Add(rank);
  const int64_t prior_item = event.item < r->item_events.size() ? r->item_events[event.item] : 0;
  const bool cold_user = user.num_events() < kColdThreshold;
  const bool cold_item = prior_item < kColdThreshold;
  (cold_user ? r->cold_user : r->warm).Add(rank);
  if (cold_item) {
    r->cold_item.Add(rank);
  }
  r->coverage.Add(*top);
  for (const auto& entry : *top) {
    r->popularity_sum += r->popularity.Percentile(entry.item);
    ++r->popularity_n;
  }
}

json SplitJson(const HitAccumulator& acc) {
  return {{"count", acc.count()}, {"hr", acc.hr()}, {"ndcg", acc.ndcg()}, {"mrr", acc.mrr()}};
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

json ResultJson(const ProtocolContext& ctx, const Replay& r, const UpdateMode& mode,
                size_t replayed, double wall_seconds) {
  json result;
  result["model"] = r.model->name();
  result["params"] = ParamsJson(*r.model);
  result["update"] = mode.ToString();
  result["metrics"] = {
      {"hr", r.all.hr()},
      {"ndcg", r.all.ndcg()},
      {"mrr", r.all.mrr()},
      {"coverage", r.coverage.Coverage(r.popularity.known_items())},
      {"popularity_percentile",
       r.popularity_n ? r.popularity_sum / static_cast<double>(r.popularity_n) : 0.0}};
  result["scored"] = r.all.count();
  RatingErrorJson(r.rating_error, &result);
  result["splits"] = {{"cold_user", SplitJson(r.cold_user)},
                      {"warm_user", SplitJson(r.warm)},
                      {"cold_item", SplitJson(r.cold_item)},
                      {"first_half", SplitJson(r.first_half)},
                      {"second_half", SplitJson(r.second_half)}};
  if (!r.fit_cache.is_null()) {
    result["fit_cache"] = r.fit_cache;
  }
  result["series"] = SeriesJson(r.windows);
  if (mode.kind == UpdateMode::Kind::kRetrain) {
    result["retrains"] = r.retrains;
  }
  if (ctx.options->timing) {
    result["events_per_second"] =
        wall_seconds > 0 ? static_cast<double>(replayed) / wall_seconds : 0.0;
    result["seconds"] = wall_seconds;
    result["model_seconds"] = r.model_seconds;
    result["recommend_ms_p50"] = r.recommend_latency.Quantile(0.5);
    result["recommend_ms_p99"] = r.recommend_latency.Quantile(0.99);
    result["observe_ms_p50"] = r.observe_latency.Quantile(0.5);
    result["observe_ms_p99"] = r.observe_latency.Quantile(0.99);
    result["latency"] = {{"recommend", r.recommend_latency.ToJson()},
                         {"observe", r.observe_latency.ToJson()}};
  }
  return result;
}

// Items enter the catalogue at their first event: the model gets an item's content just before
// that event is scored (items are numbered in order of first appearance).
void DeliverUpTo(const ProtocolContext& ctx, ItemIdx item, Replay* r) {
  if (item >= r->items_delivered) {
    DeliverItemContent(*ctx.dataset, r->items_delivered, static_cast<size_t>(item) + 1,
                       r->model.get());
    r->items_delivered = static_cast<size_t>(item) + 1;
  }
}

Status Refit(const ProtocolContext& ctx, const ModelEntry& entry,
             std::span<const data::Interaction> past, Replay* r) {
  FLYWHEEL_ASSIGN_OR_RETURN(r->model, entry.factory());
  ItemIdx max_item = 0;
  for (const data::Interaction& e : past) {
    max_item = std::max(max_item, e.item);
  }
  DeliverItemContent(*ctx.dataset, 0, past.empty() ? 0 : static_cast<size_t>(max_item) + 1,
                     r->model.get());
  r->items_delivered = past.empty() ? 0 : static_cast<size_t>(max_item) + 1;
  const int64_t start = NowNs();
  FLYWHEEL_RETURN_IF_ERROR(FitWithCache(ctx.options->fit_cache, *ctx.dataset, past, r->model.get(),
                                        r->retrains == 0 ? &r->fit_cache : nullptr));
  r->model_seconds += SecondsSince(start);
  return Status::Ok();
}

Status RunOne(const ProtocolContext& ctx, const ModelEntry& entry, const UpdateMode& mode,
              json* doc) {
  const auto& events = ctx.dataset->events;
  const size_t warm_end = WarmupEnd(events, ctx.options->warmup);
  const int64_t wall_start = NowNs();
  Replay r;
  FLYWHEEL_RETURN_IF_ERROR(Refit(ctx, entry, std::span(events.data(), warm_end), &r));
  for (size_t i = 0; i < warm_end; ++i) {
    Remember(events[i], &r);
  }
  const size_t replayed = events.size() - warm_end;
  const int num_windows = std::max(1, ctx.options->windows);
  r.windows.resize(static_cast<size_t>(num_windows));
  TimestampMs next_retrain = warm_end < events.size() ? events[warm_end].ts_ms + mode.period_ms : 0;
  base::ProgressBar progress("eval " + entry.name + " " + mode.ToString(),
                             static_cast<int64_t>(replayed), ctx.options->progress);
  std::vector<model::ScoredItem> top;
  for (size_t i = warm_end; i < events.size(); ++i) {
    const data::Interaction& event = events[i];
    if (mode.kind == UpdateMode::Kind::kRetrain && event.ts_ms >= next_retrain) {
      FLYWHEEL_RETURN_IF_ERROR(Refit(ctx, entry, std::span(events.data(), i), &r));
      ++r.retrains;
      while (next_retrain <= event.ts_ms) {
        next_retrain += mode.period_ms;
      }
    }
    const size_t offset = i - warm_end;
    Window& window = r.windows[offset * static_cast<size_t>(num_windows) / replayed];
    DeliverUpTo(ctx, event.item, &r);
    const model::UserState& user = r.users.Find(event.user);
    const bool scorable =
        ctx.positive->Accept(event) && !(ctx.options->exclude_seen && user.HasSeen(event.item));
    if (scorable) {
      Score(ctx, event, 2 * offset < replayed, &r, &top, &window);
    }
    AddRatingError(ctx, *r.model, event, &r.rating_error);
    if (mode.kind == UpdateMode::Kind::kOnline) {
      const int64_t start = NowNs();
      r.model->Observe(event, r.users.Get(event.user));
      const int64_t elapsed = NowNs() - start;
      r.model_seconds += static_cast<double>(elapsed) * 1e-9;
      r.observe_latency.Add(static_cast<double>(elapsed) * 1e-6);
    }
    Remember(event, &r);
    window.end_ts = event.ts_ms;
    window.end_event = static_cast<int64_t>(i + 1);
    progress.Update(static_cast<int64_t>(offset + 1));
  }
  progress.Finish();
  (*doc)["events_scored"] = r.all.count();
  (*doc)["results"].push_back(ResultJson(ctx, r, mode, replayed, SecondsSince(wall_start)));
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
