// Api: the routes of doc/http_api.md on top of an Engine. Stateless apart from counters; one
// instance serves all connections (Handle is thread-safe).
//
// Routes (the table is Api::MakeRouter in api.cc; handlers by resource in *_routes.cc):
// POST /v1/events, PUT/DELETE /v1/items/{id}, POST /v1/items:batch, PUT/DELETE /v1/users/{id},
// GET /v1/users/{id}/recommendations (k, exclude_seen, categories, explain, model),
// GET /v1/items/{id}/similar, GET /v1/stats, GET /metrics, GET /healthz, GET /readyz,
// POST /v1/admin/snapshot; API keys with scopes. The dashboard's routes (dashboard_routes.cc):
// GET /v1/stats/history, GET /v1/users/{id}, GET /v1/items/{id},
// POST /v1/users/{id}/recommendations/dry-run.
// The dashboard's files (web_routes.cc, doc/dashboard.md): GET / and GET /ui/{name}, public.
//
// Every request goes through the same steps (Dispatch): the query string is decoded (400), the
// route found (404 unknown path, 405 known path and another method), the key's scope checked
// (401/403), the path parameter decoded (400), the engine required (503 while recovering), then
// the route's handler runs.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "base/histogram.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "server/api_util.h"
#include "server/http_server.h"
#include "server/live_quality.h"
#include "server/rate_limiter.h"
#include "server/replication.h"
#include "server/router.h"
#include "server/stats_history.h"

namespace flywheel::server {

enum class Scope { kNone = 0, kRead = 1, kWrite = 2, kAdmin = 3 };

struct ApiKeys {
  std::string read;
  std::string write;
  std::string admin;
  bool any() const { return !read.empty() || !write.empty() || !admin.empty(); }
  // The scope a bearer token grants (kNone when it matches no key).
  Scope ScopeOf(const std::string& token) const;
  // From FLYWHEEL_READ_KEY, FLYWHEEL_WRITE_KEY, FLYWHEEL_ADMIN_KEY.
  static ApiKeys FromEnvironment();
};

struct ApiLimits {
  size_t max_events_per_batch = 10'000;
  int max_json_depth = 32;
  // Requests per second per API key (its scope: read, write, admin), for requests with a
  // valid key; off by default (serve: rate_limit.key_*).
  RateLimit key_rate;
  // Requests per second per client IP address, for requests without a valid key (open routes,
  // failed authentication) from other than loopback peers; off by default here (serve:
  // rate_limit.ip_*, on by default there).
  RateLimit ip_rate;
  // How long a read with min_version waits for this node to reach it before a 503.
  int min_version_wait_ms = 2000;
};

class Api {
 public:
  Api(ApiKeys keys, ApiLimits limits);
  ~Api();  // stops the history sampler
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // The engine once recovery finished (before that, /readyz answers 503 and API routes 503).
  // Not owned; must outlive the Api, or be replaced (nullptr) before it goes: once
  // SetEngine(nullptr) returns, the history sampler no longer reads the old engine.
  void SetEngine(Engine* engine) EXCLUDES(sampler_mu_);

  // A replicated deployment (doc/stream.md). `sink`: where POST /v1/events appends instead of
  // the engine (producer mode; null: the engine's log). `view`: the stream this node consumes
  // (null: none); it makes GET /v1/replication and min_version=<entry id> work and refuses the
  // writes the stream does not carry (409 not_replicated). Not owned; each must outlive the
  // Api or be cleared (nullptr) before it goes.
  // `bootstrap`: a trainer's snapshots for new replicas (GET /v1/admin/replica/...; null: 404).
  void SetReplication(EventSink* sink, const StreamView* view,
                      BootstrapSource* bootstrap = nullptr);

  // The history of GET /v1/stats/history: a background thread takes one sample
  // (SampleHistory) every history().interval_s() seconds from Start until Stop (or the
  // destructor), which wakes and joins it. Start twice is a no-op.
  void StartHistorySampler() EXCLUDES(sampler_mu_);
  void StopHistorySampler() EXCLUDES(sampler_mu_);
  // One sample now: the interval since the previous call (the first call only takes the
  // reading). The sampler thread's step; tests call it directly (then with an explicit time).
  void SampleHistory() EXCLUDES(sampler_mu_);
  void SampleHistoryAt(int64_t unix_ms) EXCLUDES(sampler_mu_);
  const StatsHistory& history() const { return history_; }
  const LiveQuality& live_quality() const { return live_quality_; }

  Response Handle(const Request& request);
  // The HttpServer's Admit: decides from the header alone, before any body byte is read. Rate
  // limits (429 + Retry-After), unknown routes (404/405) and authentication (401/403) answer
  // here; otherwise the route's body limit (0 for routes that read no body) is returned.
  Admission Admit(const RequestHeader& header, const Peer& peer);
  uint64_t rate_limited() const { return rate_limited_.load(std::memory_order_relaxed); }

  // What a route handler gets.
  struct Call {
    const Request& request;
    const std::string& request_id;
    const QueryParams& query;
    const std::string& param;  // the decoded path parameter ("" for routes without one)
    Engine* engine;            // non-null for routes that need the engine
  };
  // A route's entry in the table: the scope its key needs (kNone: no key), whether it answers
  // 503 while recovering, and its handler.
  struct RouteSpec {
    Scope scope = Scope::kNone;
    bool needs_engine = false;
    Response (Api::*handle)(const Call&) = nullptr;
    // The query parameters the route reads; any other one is a 400 naming it (Dispatch).
    std::vector<std::string> params = {};
    bool takes_body = false;  // false: a body announced is refused (413) before it is read
  };
  const Router<RouteSpec>& router() const { return router_; }

 private:
  static Router<RouteSpec> MakeRouter();
  Response Dispatch(const Request& request, const std::string& request_id, std::string* route);
  // Sets X-Request-Id and counts the response (requests, errors, latency of `route`).
  Response Finish(const std::string& request_id, const std::string& route,
                  std::chrono::steady_clock::time_point start, Response res);
  // nullopt when the request's key (or, without a valid key, its client address) may make a
  // request now, else the 429.
  std::optional<Response> CheckRate(const Request& head, const Peer& peer);
  // nullopt when allowed, else the 401/403 response.
  std::optional<Response> Authorize(const Request& request, Scope needed) const;
  // nullopt when the body's JSON nesting and value count are within limits (checked before
  // parsing), else the 400 response.
  std::optional<Response> CheckJsonBody(const Request& request, size_t max_values) const;

  // The dashboard's files (web_routes.cc): GET / and GET /ui/{name}, no key needed.
  Response WebIndex(const Call& call);
  Response WebAsset(const Call& call);
  // Handlers (ops_routes.cc, event_routes.cc, catalog_routes.cc, recommend_routes.cc).
  Response Healthz(const Call& call);
  Response Readyz(const Call& call);
  Response Metrics(const Call& call);
  Response Stats(const Call& call);
  Response Snapshot(const Call& call);
  Response PostEvents(const Call& call);
  Response PutItem(const Call& call);
  Response DeleteItem(const Call& call);
  Response PostItemsBatch(const Call& call);   // items_batch_routes.cc
  Response PostImpressions(const Call& call);  // impression_routes.cc
  Response PutUser(const Call& call);
  Response DeleteUser(const Call& call);
  Response Recommendations(const Call& call);
  Response Similar(const Call& call);
  Response Replication(const Call& call);  // replication_routes.cc
  Response ReplicaBootstrap(const Call& call);
  Response ReplicaFile(const Call& call);
  // PostEvents in producer mode: the parsed batch appended to the stream.
  Response ProduceEvents(const Call& call, const nlohmann::json& list);
  // A catalogue write in producer mode: one entry of field `field` (doc/stream.md, "Entries").
  Response ProduceCatalog(const Call& call, std::string_view field, std::string value);
  bool producing() const { return sink_.load(std::memory_order_acquire) != nullptr; }
  // nullopt, or the 409 for a write this node cannot replicate (POST /v1/impressions; catalogue
  // writes on a stream consumer without a producer). record_impression=true is refused by
  // Recommendations, on the parsed query.
  std::optional<Response> RefuseUnreplicated(const Request& request,
                                             const std::string& route) const;
  static Response NotReplicated(const Request& request);  // that 409
  // min_version (a sequence number, or a stream entry id on a stream consumer): nullopt once
  // this node's applied version reached it (waiting up to min_version_wait_ms), else the error.
  std::optional<Response> AwaitVersion(const Call& call) const;
  Response StatsHistoryRoute(const Call& call);
  Response GetUser(const Call& call);
  Response GetItem(const Call& call);
  Response DryRun(const Call& call);

  // The dashboard's counters after a served list / accepted events (dashboard_routes.cc).
  void CountServed(const std::string& user, const RecommendResult& result);
  // `types`: the engine's event types (its --event-types included).
  void CountEvents(const EventTypeTable& types, std::span<const Event> events, bool had_duplicates);
  // The cumulative reading the history samples are differences of. REQUIRES: sampler_mu_ (the
  // engine it reads stays valid).
  StatsReading ReadStats(int64_t unix_ms) REQUIRES(sampler_mu_);
  void SamplerLoop() EXCLUDES(sampler_mu_);

  const ApiKeys keys_;
  const ApiLimits limits_;
  const Router<RouteSpec> router_;
  std::atomic<Engine*> engine_{nullptr};
  std::atomic<EventSink*> sink_{nullptr};
  std::atomic<const StreamView*> stream_view_{nullptr};
  std::atomic<BootstrapSource*> bootstrap_{nullptr};
  std::atomic<uint64_t> next_request_{1};
  base::Mutex histograms_mu_;
  // Latency by route name; the histograms themselves are atomic (added to without the lock).
  std::map<std::string, std::unique_ptr<base::AtomicHistogram>> latency_ GUARDED_BY(histograms_mu_);
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> errors_{0};
  RateLimiter key_limiter_;
  RateLimiter ip_limiter_;
  std::atomic<uint64_t> rate_limited_{0};  // requests answered 429

  // The dashboard's state (dashboard_routes.cc); each is thread-safe.
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> recommendations_served_{0};  // recommendation requests answered 200
  LiveQuality live_quality_;
  ItemCounters item_counters_;
  StatsHistory history_;
  base::Mutex sampler_mu_;
  base::CondVar sampler_cv_;
  bool sampler_stop_ GUARDED_BY(sampler_mu_) = false;
  std::optional<StatsReading> last_reading_ GUARDED_BY(sampler_mu_);
  std::thread sampler_ GUARDED_BY(sampler_mu_);
};

// Nesting depth of a JSON text (objects and arrays), ignoring brackets inside strings.
int JsonDepth(std::string_view text);

// Splits "a=1&b=x%20y" into decoded pairs (last value wins). kInvalidArgument on bad escapes.
Result<QueryParams> ParseQuery(std::string_view query);

}  // namespace flywheel::server
