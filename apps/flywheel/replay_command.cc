// flywheel replay: a live prequential replay of a dataset through a running server's HTTP API
// (doc/replay.md). The rules (test points, what is sent when, HR@K accounting) are the library's
// prequential replay protocol (eval/replay.h), shared with `flywheel eval`; this file holds the
// flags, the pacing and the HTTP transport (HttpTarget: PUT /v1/items/{id} for item content,
// GET /v1/users/{u}/recommendations for a test, POST /v1/events for a batch).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "flywheel/event_types.h"

#include "client/http_client.h"
#include "commands.h"
#include "data/dataset.h"
#include "eval/latency.h"
#include "eval/metrics.h"
#include "eval/options.h"
#include "eval/replay.h"
#include "eval/target.h"
#include "flags.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct ReplayOptions {
  std::string dataset;
  std::string prefix;  // URL path prefix
  double speed = 0;    // stream ms per wall ms; 0: as fast as possible
  size_t batch = 1;
  int k = 10;
  int64_t max_events = 0;
  double duration_s = 0;
  int report_every_ms = 1000;
  int64_t score_every = 1;
  bool exclude_seen = true;
  bool wait_applied = false;
  bool at20 = true;  // a second request (k = 20) per test point for hr@20, ndcg@20, mrr@20
  std::string model;
  std::string id_prefix;
};

// Counters of the run, cumulative and per reporting interval.
struct Progress {
  int64_t sent = 0;
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t errors = 0;
  int64_t stale_reads = 0;  // recommendations served before the learner applied every sent event
  uint64_t last_seq = 0;
  std::string first_error;
  eval::LatencyHistogram post;
  eval::LatencyHistogram recommend_interval;
  int64_t sent_at_last_line = 0;
  std::string model_version;
};

// A running server as the target of the replay protocol.
class HttpTarget : public eval::Target {
 public:
  HttpTarget(const ReplayOptions& options, const data::Dataset& dataset, client::HttpClient* http,
             Progress* progress)
      : options_(options), dataset_(dataset), http_(*http), progress_(*progress) {}

  Status AddItems(size_t from, size_t to) override;
  Status WarmUp(size_t /*end*/) override { return Status::Ok(); }
  // False after an HTTP error status (counted in the errors).
  Result<bool> Recommend(size_t event, int k, bool exclude_seen,
                         std::vector<model::ScoredItem>* top) override;
  Status Observe(size_t from, size_t to) override;
  const char* kind() const override { return "http"; }

  json Stats();
  const json& last_stats() const { return last_stats_; }

 private:
  Status WaitApplied();
  void RecordError(const std::string& what) {
    ++progress_.errors;
    if (progress_.first_error.empty()) {
      progress_.first_error = what;
    }
  }
  // kInvalidArgument for 401/403 (a wrong --key stops the run); OK otherwise.
  Status CheckAuth(int status) const {
    if (status == 401 || status == 403) {
      return Status::InvalidArgument(progress_.first_error + " (see --key)");
    }
    return Status::Ok();
  }

  const ReplayOptions& options_;
  const data::Dataset& dataset_;
  client::HttpClient& http_;
  Progress& progress_;
  json last_stats_;
};

Status HttpTarget::AddItems(size_t from, size_t to) {
  to = std::min(to, dataset_.item_meta.size());
  for (size_t i = from; i < to; ++i) {
    const Item& item = dataset_.item_meta[i];
    if (item.id.empty()) {
      continue;
    }
    json body = {{"title", item.title}, {"categories", item.categories}, {"tags", item.tags}};
    json attributes = json::object();
    for (const auto& [key, value] : item.attributes) {
      attributes[key] = value;
    }
    body["attributes"] = std::move(attributes);
    if (item.created_ms != 0) {
      body["created"] = item.created_ms;
    }
    const std::string target = options_.prefix + "/v1/items/" + client::UrlEncode(item.id);
    FLYWHEEL_ASSIGN_OR_RETURN(client::Response res, http_.Send("PUT", target, body.dump()));
    if (res.status != 202) {
      RecordError("PUT " + target + ": HTTP " + std::to_string(res.status) + ": " +
                  res.body.substr(0, 200));
      FLYWHEEL_RETURN_IF_ERROR(CheckAuth(res.status));
      continue;
    }
    const json ack = json::parse(res.body, nullptr, false);
    if (ack.is_object()) {
      progress_.last_seq = std::max(progress_.last_seq, ack.value("seq", uint64_t{0}));
    }
  }
  return options_.wait_applied ? WaitApplied() : Status::Ok();
}

Result<bool> HttpTarget::Recommend(size_t event, int k, bool exclude_seen,
                                   std::vector<model::ScoredItem>* top) {
  const data::Interaction& e = dataset_.events[event];
  std::string target = options_.prefix + "/v1/users/" +
                       client::UrlEncode(dataset_.users.external(e.user)) +
                       "/recommendations?k=" + std::to_string(k) +
                       "&exclude_seen=" + (exclude_seen ? "true" : "false");
  if (!options_.model.empty()) {
    target += "&model=" + client::UrlEncode(options_.model);
  }
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response res, http_.Get(target));
  if (res.status != 200) {
    RecordError("GET " + target + ": HTTP " + std::to_string(res.status) + ": " +
                res.body.substr(0, 200));
    FLYWHEEL_RETURN_IF_ERROR(CheckAuth(res.status));
    return false;
  }
  const json body = json::parse(res.body, nullptr, false);
  if (body.is_discarded() || !body.contains("items") || !body["items"].is_array()) {
    return Status::Internal("GET " + target + ": unexpected body: " + res.body.substr(0, 200));
  }
  if (body.contains("model_version") && body["model_version"].is_string()) {
    progress_.model_version = body["model_version"].get<std::string>();
    const size_t at = progress_.model_version.rfind('@');
    if (at != std::string::npos &&
        std::strtoull(progress_.model_version.c_str() + at + 1, nullptr, 10) < progress_.last_seq) {
      ++progress_.stale_reads;
    }
  }
  for (const json& entry : body["items"]) {
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string()) {
      continue;
    }
    if (const auto item = dataset_.items.Find(entry["id"].get<std::string>())) {
      top->push_back(model::ScoredItem{*item, entry.value("score", 0.0f)});
    } else {
      top->push_back(model::ScoredItem{});  // not in the dataset: holds its rank, never a hit
    }
  }
  return true;
}

Status HttpTarget::Observe(size_t from, size_t to) {
  json events = json::array();
  for (size_t i = from; i < to; ++i) {
    const data::Interaction& e = dataset_.events[i];
    events.push_back({{"user", dataset_.users.external(e.user)},
                      {"item", dataset_.items.external(e.item)},
                      {"type", dataset_.types.type(e.type).name},
                      {"value", e.value},
                      {"ts", e.ts_ms},
                      {"id", options_.id_prefix + std::to_string(i)}});
  }
  const std::string body = json{{"events", std::move(events)}}.dump();
  const auto start = Clock::now();
  Result<client::Response> res = http_.Post(options_.prefix + "/v1/events", body);
  progress_.post.Add(MsBetween(start, Clock::now()));
  progress_.sent += static_cast<int64_t>(to - from);
  if (!res.ok()) {
    return res.status();  // transport failure: stop
  }
  if (res->status != 202) {
    RecordError("POST /v1/events: HTTP " + std::to_string(res->status) + ": " +
                res->body.substr(0, 200));
    return CheckAuth(res->status);
  }
  const json ack = json::parse(res->body, nullptr, false);
  if (ack.is_discarded()) {
    return Status::Internal("POST /v1/events: unexpected body: " + res->body.substr(0, 200));
  }
  progress_.accepted += ack.value("accepted", int64_t{0});
  progress_.duplicates += ack.value("duplicates", int64_t{0});
  progress_.last_seq = std::max(progress_.last_seq, ack.value("last_seq", uint64_t{0}));
  return options_.wait_applied ? WaitApplied() : Status::Ok();
}

json HttpTarget::Stats() {
  Result<client::Response> res = http_.Get(options_.prefix + "/v1/stats");
  if (!res.ok() || res->status != 200) {
    return json();
  }
  json doc = json::parse(res->body, nullptr, false);
  if (doc.is_discarded()) {
    return json();
  }
  last_stats_ = doc;
  return doc;
}

Status HttpTarget::WaitApplied() {
  for (int spins = 0;; ++spins) {
    const json stats = Stats();
    if (!stats.is_object()) {
      return Status::Unavailable("GET /v1/stats failed while waiting for the learner");
    }
    if (stats.value("applied_seq", uint64_t{0}) >= progress_.last_seq) {
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(spins < 10 ? 50 : 1000));
  }
}

class Replayer {
 public:
  Replayer(const ReplayOptions& options, const data::Dataset& dataset,
           const eval::PositiveFilter& positive, client::HttpClient* http)
      : options_(options),
        dataset_(dataset),
        positive_(positive),
        target_(options, dataset, http, &progress_),
        replay_(dataset, positive, Rules(options), &target_) {}

  Status Run();
  json Summary() const;
  // The user, item and time of the last event sent (ids that exist on the server), for examples.
  json Example() const;

 private:
  static eval::ReplayRules Rules(const ReplayOptions& options) {
    eval::ReplayRules rules;
    rules.k = options.k;
    rules.exclude_seen = options.exclude_seen;
    rules.batch = options.batch;
    rules.score_every = options.score_every;
    rules.at20 = options.at20;
    if (options.max_events > 0) {
      rules.end = static_cast<size_t>(options.max_events);
    }
    return rules;
  }
  void PrintLine(Clock::time_point now);

  const ReplayOptions& options_;
  const data::Dataset& dataset_;
  const eval::PositiveFilter& positive_;
  Progress progress_;
  HttpTarget target_;
  eval::PrequentialReplay replay_;
  Clock::time_point start_;
  Clock::time_point last_line_;
  double seconds_ = 0;
};

double FreshnessP99(const json& stats) {
  if (stats.is_object() && stats.contains("freshness_ms") && stats["freshness_ms"].is_object()) {
    return stats["freshness_ms"].value("p99", 0.0);
  }
  return 0.0;
}

void Replayer::PrintLine(Clock::time_point now) {
  const double elapsed = MsBetween(start_, now) / 1000.0;
  const double interval = MsBetween(last_line_, now) / 1000.0;
  const json stats = target_.Stats();
  const double rate =
      interval > 0 ? static_cast<double>(progress_.sent - progress_.sent_at_last_line) / interval
                   : 0.0;
  std::printf(
      "[%6.1fs] sent %9lld  %7.0f ev/s  scored %8lld  HR@%d %.4f  recommend p50 %.2f ms p99 "
      "%.2f ms  freshness p99 %.2f ms  errors %lld\n",
      elapsed, static_cast<long long>(progress_.sent), rate,
      static_cast<long long>(replay_.hits().count()), options_.k, replay_.hits().hr(),
      progress_.recommend_interval.Quantile(0.5), progress_.recommend_interval.Quantile(0.99),
      FreshnessP99(stats), static_cast<long long>(progress_.errors));
  std::fflush(stdout);
  progress_.recommend_interval = eval::LatencyHistogram();
  progress_.sent_at_last_line = progress_.sent;
  last_line_ = now;
}

Status Replayer::Run() {
  const auto& events = dataset_.events;
  replay_.OnTested([this](const eval::TestedEvent& t) {
    if (t.asked) {
      progress_.recommend_interval.Add(t.ms);
    }
  });
  start_ = Clock::now();
  last_line_ = start_;
  FLYWHEEL_RETURN_IF_ERROR(replay_.Start());
  const TimestampMs ts0 = replay_.end() > 0 ? events[0].ts_ms : 0;
  // Wall time at which event i is due (accelerated real time).
  auto due = [&](size_t i) {
    const double stream_ms = static_cast<double>(events[i].ts_ms - ts0);
    return start_ +
           std::chrono::microseconds(static_cast<int64_t>(stream_ms * 1000.0 / options_.speed));
  };
  const auto deadline =
      options_.duration_s > 0
          ? start_ + std::chrono::microseconds(static_cast<int64_t>(options_.duration_s * 1e6))
          : Clock::time_point::max();
  while (!replay_.done()) {
    auto now = Clock::now();
    if (now >= deadline) {
      break;
    }
    if (options_.speed > 0) {
      const auto when = due(replay_.next());
      if (when > now) {
        std::this_thread::sleep_until(std::min(
            {when, deadline, last_line_ + std::chrono::milliseconds(options_.report_every_ms)}));
        now = Clock::now();
        if (now - last_line_ >= std::chrono::milliseconds(options_.report_every_ms)) {
          PrintLine(now);
        }
        continue;
      }
    }
    // The batch: events already due, at most --batch of them; the protocol tests its scorable
    // events, then posts it.
    const size_t to =
        replay_.BatchEnd([&](size_t i) { return options_.speed <= 0 || due(i) <= now; });
    FLYWHEEL_RETURN_IF_ERROR(replay_.Step(to));
    now = Clock::now();
    if (now - last_line_ >= std::chrono::milliseconds(options_.report_every_ms)) {
      PrintLine(now);
    }
  }
  seconds_ = MsBetween(start_, Clock::now()) / 1000.0;
  PrintLine(Clock::now());
  return Status::Ok();
}

json Replayer::Summary() const {
  json freshness = json::object();
  const json& stats = target_.last_stats();
  if (stats.is_object() && stats.contains("freshness_ms")) {
    freshness = stats["freshness_ms"];
  }
  return {
      {"dataset", dataset_.name},
      {"protocol", "prequential-live"},
      {"k", options_.k},
      {"filters",
       {{"exclude_seen", options_.exclude_seen},
        {"positive", positive_.text()},
        {"score_every", options_.score_every}}},
      {"speed", options_.speed},
      {"batch", options_.batch},
      {"events_total", dataset_.events.size()},
      {"events_sent", progress_.sent},
      {"events_accepted", progress_.accepted},
      {"duplicates", progress_.duplicates},
      {"events_scored", replay_.hits().count()},
      {"metrics", replay_.MetricsJson()},
      {"model_version", progress_.model_version},
      {"stale_reads", progress_.stale_reads},
      {"seconds", seconds_},
      {"events_per_second", seconds_ > 0 ? static_cast<double>(progress_.sent) / seconds_ : 0.0},
      {"recommend_ms_p50", replay_.recommend_latency().Quantile(0.5)},
      {"recommend_ms_p99", replay_.recommend_latency().Quantile(0.99)},
      {"post_ms_p50", progress_.post.Quantile(0.5)},
      {"post_ms_p99", progress_.post.Quantile(0.99)},
      {"freshness_ms", freshness},
      {"errors", progress_.errors},
      {"first_error", progress_.first_error},
      {"example", Example()}};
}

json Replayer::Example() const {
  if (replay_.next() == 0) {
    return json::object();
  }
  const data::Interaction& last = dataset_.events[replay_.next() - 1];
  return {{"user", dataset_.users.external(last.user)},
          {"item", dataset_.items.external(last.item)},
          {"ts", last.ts_ms}};
}

// A few human-readable lines (the JSON summary follows on its own line).
void PrintSummary(const json& s) {
  const json& m = s["metrics"];
  const json& f = s["freshness_ms"];
  std::printf(
      "summary: %lld events sent (%lld accepted, %lld duplicates) in %.1f s = %.0f events/s\n",
      static_cast<long long>(s["events_sent"].get<int64_t>()),
      static_cast<long long>(s["events_accepted"].get<int64_t>()),
      static_cast<long long>(s["duplicates"].get<int64_t>()), s["seconds"].get<double>(),
      s["events_per_second"].get<double>());
  const int k = s["k"].get<int>();
  std::string at20;
  if (k != eval::kAt20 && m.contains("hr@20")) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "  HR@20 %.4f  NDCG@20 %.4f", m["hr@20"].get<double>(),
                  m["ndcg@20"].get<double>());
    at20 = buf;
  }
  std::printf(
      "summary: live prequential HR@%d %.4f  NDCG@%d %.4f  MRR %.4f%s  over %lld scored "
      "events (positive: %s, seen items %s)\n",
      k, m["hr"].get<double>(), k, m["ndcg"].get<double>(), m["mrr"].get<double>(), at20.c_str(),
      static_cast<long long>(s["events_scored"].get<int64_t>()),
      s["filters"]["positive"].get<std::string>().c_str(),
      s["filters"]["exclude_seen"].get<bool>() ? "excluded" : "included");
  std::printf(
      "summary: recommend (client-measured, the K requests) p50 %.2f ms p99 %.2f ms; POST p50 %.2f "
      "ms "
      "p99 %.2f ms; freshness (server) p50 %.3f ms p99 %.3f ms; stale reads %lld; "
      "errors %lld\n",
      s["recommend_ms_p50"].get<double>(), s["recommend_ms_p99"].get<double>(),
      s["post_ms_p50"].get<double>(), s["post_ms_p99"].get<double>(),
      f.is_object() ? f.value("p50", 0.0) : 0.0, f.is_object() ? f.value("p99", 0.0) : 0.0,
      static_cast<long long>(s["stale_reads"].get<int64_t>()),
      static_cast<long long>(s["errors"].get<int64_t>()));
  const auto sent = s["events_sent"].get<int64_t>();
  const auto total = s["events_total"].get<int64_t>();
  if (sent < total) {
    std::printf(
        "summary: only %lld of %lld events (%.0f%%) were sent: stopped by --duration or "
        "--max-events\n",
        static_cast<long long>(sent), static_cast<long long>(total),
        100.0 * static_cast<double>(sent) / static_cast<double>(std::max<int64_t>(total, 1)));
  }
  if (s["batch"].get<size_t>() > 1) {
    std::printf(
        "summary: caveat: batch %zu: an event is predicted before the earlier events of "
        "its batch are posted, so HR is lower than test-then-train (--batch 1)\n",
        s["batch"].get<size_t>());
  }
  if (!s["first_error"].get<std::string>().empty()) {
    std::printf("summary: first error: %s\n", s["first_error"].get<std::string>().c_str());
  }
}

Result<ReplayOptions> ParseReplayOptions(const Flags& flags) {
  ReplayOptions o;
  o.dataset = flags.Get("dataset");
  FLYWHEEL_ASSIGN_OR_RETURN(o.speed, flags.GetDouble("speed"));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t batch, flags.GetInt("batch"));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t k, flags.GetInt("k"));
  FLYWHEEL_ASSIGN_OR_RETURN(o.max_events, flags.GetInt("max-events"));
  FLYWHEEL_ASSIGN_OR_RETURN(o.duration_s, flags.GetDouble("duration"));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t every_ms, flags.GetInt("report-every-ms"));
  FLYWHEEL_ASSIGN_OR_RETURN(o.score_every, flags.GetInt("score-every"));
  if (o.speed < 0) {
    return Status::InvalidArgument("replay: --speed must be >= 0 (0: as fast as possible)");
  }
  if (batch < 1 || batch > 10000) {
    return Status::InvalidArgument("replay: --batch must be in 1..10000");
  }
  if (k < 1 || k > 1000) {
    return Status::InvalidArgument("replay: --k must be in 1..1000");
  }
  if (every_ms < 1 || o.score_every < 1 || o.max_events < 0 || o.duration_s < 0) {
    return Status::InvalidArgument(
        "replay: --report-every-ms and --score-every must be >= 1, --max-events and --duration "
        ">= 0");
  }
  o.batch = static_cast<size_t>(batch);
  o.k = static_cast<int>(k);
  o.report_every_ms = static_cast<int>(every_ms);
  o.exclude_seen = !flags.GetBool("include-seen");
  o.wait_applied = flags.GetBool("wait-applied");
  o.at20 = !flags.GetBool("no-at20");
  o.model = flags.Get("model");
  o.id_prefix = flags.Get("id-prefix");
  if (o.id_prefix.empty()) {
    o.id_prefix = "replay-" + std::to_string(static_cast<long long>(getpid())) + "-" +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()) +
                  "-";
  }
  return o;
}

Status RunReplay(const Flags& flags) {
  if (!flags.Has("url") || !flags.Has("dataset")) {
    return Status::InvalidArgument("replay: --url and --dataset are required");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(client::Url url, client::ParseUrl(flags.Get("url")));
  FLYWHEEL_ASSIGN_OR_RETURN(ReplayOptions options, ParseReplayOptions(flags));
  options.prefix = url.prefix;
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable types, EventTypeTable::Parse(flags.Get("event-types")));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t skip, flags.GetInt("skip-bad"));
  FLYWHEEL_ASSIGN_OR_RETURN(data::Dataset dataset,
                            data::LoadDataset(options.dataset, types, data::SkipPolicy{skip}));
  const std::string positive_text =
      flags.Get("positive").empty() ? dataset.default_positive : flags.Get("positive");
  FLYWHEEL_ASSIGN_OR_RETURN(eval::PositiveFilter positive,
                            eval::PositiveFilter::Parse(positive_text, dataset.types));
  client::ClientOptions client_options;
  client_options.host = url.host;
  client_options.port = url.port;
  client_options.bearer_token = flags.Get("key");
  client_options.retry_non_idempotent = true;  // every posted event carries an id
  client::HttpClient http(client_options);
  FLYWHEEL_RETURN_IF_ERROR(http.Connect());
  std::fprintf(stderr,
               "replay: %s (%zu events, %zu users, %zu items) -> %s, speed %s, batch %zu, "
               "positive %s\n",
               dataset.name.c_str(), dataset.events.size(), dataset.users.size(),
               dataset.items.size(), flags.Get("url").c_str(),
               options.speed > 0 ? (std::to_string(options.speed) + "x").c_str() : "max",
               options.batch, positive.text().c_str());
  Replayer replayer(options, dataset, positive, &http);
  Status status = replayer.Run();
  const json summary = replayer.Summary();
  PrintSummary(summary);
  std::printf("%s\n", summary.dump().c_str());
  std::fflush(stdout);
  if (flags.Has("json")) {
    std::ofstream out(flags.Get("json"));
    out << summary.dump(2) << "\n";
    if (!out.good()) {
      return Status::IoError("replay: cannot write '" + flags.Get("json") + "'");
    }
  }
  return status;
}

}  // namespace

int ReplayMain(int argc, char** argv) {
  Flags flags(
      "replay",
      "Replays a dataset through a running server's HTTP API at accelerated real time and "
      "measures a live prequential HR@K: each scorable event (evaluation.md's rules) asks for "
      "its user's recommendations before the event is posted. Prints one line per interval and "
      "a final JSON summary.",
      {{"url", "URL", "the server, e.g. http://127.0.0.1:8080", ""},
       {"dataset", "KIND:PATH", "any dataset of 'eval' (synthetic:..., movielens:DIR, ...)", ""},
       {"speed", "X", "stream time runs X times faster than real time; 0: as fast as possible",
        "0"},
       {"batch", "N",
        "at most N events per POST (events already due are batched); N > 1 predicts an event "
        "without the earlier events of its batch (lower HR; doc/replay.md)",
        "1"},
       {"k", "K", "list length K", "10"},
       {"key", "KEY", "API key sent as 'Authorization: Bearer KEY' (write scope)", ""},
       {"max-events", "N", "stop after N events (0: all)", "0"},
       {"duration", "S", "stop after S seconds (0: no limit)", "0"},
       {"report-every-ms", "MS", "one live line every MS milliseconds", "1000"},
       {"score-every", "N", "score one scorable event in N (1: all)", "1"},
       {"positive", "FILTER", "events to predict: all | rating>=X | types:a,b (default: dataset's)",
        ""},
       {"include-seen", "", "score and recommend items the user already interacted with", ""},
       {"model", "NAME", "the server model to ask (default: the server's first)", ""},
       {"no-at20", "", "no second request (k=20) per test point, and no hr@20, ndcg@20, mrr@20",
        ""},
       {"wait-applied", "",
        "after each POST wait until the learner applied it (exact test-then-train)", ""},
       {"event-types", "SPEC", "event type weights, e.g. view=0.5,purchase=8", ""},
       {"skip-bad", "N", "skip up to N malformed input lines", "0"},
       {"id-prefix", "P", "event ids are P<index> (default: unique per run)", ""},
       {"json", "FILE", "also write the summary here", ""}});
  return RunCommand(std::move(flags), argc, argv, RunReplay);
}

}  // namespace flywheel::cli
