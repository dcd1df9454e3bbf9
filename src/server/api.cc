#include "server/api.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "server/write_state.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;

// Constant-time comparison of a presented token with a configured key.
bool SameKey(const std::string& token, const std::string& key) {
  if (key.empty() || token.size() != key.size()) {
    return false;
  }
  unsigned char diff = 0;
  for (size_t i = 0; i < key.size(); ++i) {
    diff |= static_cast<unsigned char>(token[i] ^ key[i]);
  }
  return diff == 0;
}

std::string RequestId(const Request& request, std::atomic<uint64_t>* next) {
  if (auto it = request.find("X-Request-Id");
      it != request.end() && IsRequestIdToken({it->value().data(), it->value().size()})) {
    return {it->value().data(), it->value().size()};
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "r-%llx", static_cast<unsigned long long>(next->fetch_add(1)));
  return buf;
}

}  // namespace

Scope ApiKeys::ScopeOf(const std::string& token) const {
  if (SameKey(token, admin)) {
    return Scope::kAdmin;
  }
  if (SameKey(token, write)) {
    return Scope::kWrite;
  }
  if (SameKey(token, read)) {
    return Scope::kRead;
  }
  return Scope::kNone;
}

ApiKeys ApiKeys::FromEnvironment() {
  auto get = [](const char* name) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once at start
    return v != nullptr ? std::string(v) : std::string();
  };
  return ApiKeys{get("FLYWHEEL_READ_KEY"), get("FLYWHEEL_WRITE_KEY"), get("FLYWHEEL_ADMIN_KEY")};
}

int JsonDepth(std::string_view text) {
  return ScanJson(text).depth;
}

Result<QueryParams> ParseQuery(std::string_view query) {
  QueryParams out;
  size_t start = 0;
  while (start < query.size()) {
    const size_t amp = std::min(query.find('&', start), query.size());
    const std::string_view pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      FLYWHEEL_ASSIGN_OR_RETURN(std::string key, PercentDecode(pair.substr(0, eq), true));
      std::string value;
      if (eq != std::string_view::npos) {
        FLYWHEEL_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
      }
      out[key] = value;
    }
    start = amp + 1;
  }
  return out;
}

Api::Api(ApiKeys keys, ApiLimits limits)
    : keys_(std::move(keys)),
      limits_(limits),
      router_(MakeRouter()),
      key_limiter_(limits.key_rate),
      ip_limiter_(limits.ip_rate) {}

// The route table. The name labels the route's latency metrics; a path known under several
// methods gets one entry per method (the first entry matching the path names a 405).
Router<Api::RouteSpec> Api::MakeRouter() {
  using http::verb;
  Router<RouteSpec> r;
  // The dashboard's static files need no key; the data routes it calls keep theirs.
  r.Add("ui", verb::get, "/", {Scope::kNone, false, &Api::WebIndex});
  r.Add("ui", verb::get, "/ui/{name}", {Scope::kNone, false, &Api::WebAsset});
  r.Add("healthz", verb::get, "/healthz", {Scope::kNone, false, &Api::Healthz});
  r.Add("readyz", verb::get, "/readyz", {Scope::kNone, false, &Api::Readyz});
  r.Add("metrics", verb::get, "/metrics", {Scope::kNone, false, &Api::Metrics});
  r.Add("events", verb::post, "/v1/events", {Scope::kWrite, true, &Api::PostEvents, {}, true});
  r.Add("stats", verb::get, "/v1/stats", {Scope::kRead, true, &Api::Stats});
  r.Add("stats_history", verb::get, "/v1/stats/history",
        {Scope::kRead, false, &Api::StatsHistoryRoute});
  r.Add("snapshot", verb::post, "/v1/admin/snapshot", {Scope::kAdmin, true, &Api::Snapshot});
  r.Add("replication", verb::get, "/v1/replication", {Scope::kRead, true, &Api::Replication});
  r.Add("replica_bootstrap", verb::get, "/v1/admin/replica/bootstrap",
        {Scope::kAdmin, true, &Api::ReplicaBootstrap});
  r.Add("replica_file", verb::get, "/v1/admin/replica/files/{name}",
        {Scope::kAdmin, true, &Api::ReplicaFile});
  r.Add("recommendations", verb::get, "/v1/users/{id}/recommendations",
        {Scope::kRead,
         true,
         &Api::Recommendations,
         {"k", "exclude_seen", "categories", "explain", "model", "policy", "record_impression",
          "min_version"}});
  r.Add("impressions", verb::post, "/v1/impressions",
        {Scope::kWrite, true, &Api::PostImpressions, {}, true});
  r.Add("dry_run", verb::post, "/v1/users/{id}/recommendations/dry-run",
        {Scope::kRead, true, &Api::DryRun, {}, true});
  r.Add("similar", verb::get, "/v1/items/{id}/similar",
        {Scope::kRead, true, &Api::Similar, {"k", "model"}});
  r.Add("item_detail", verb::get, "/v1/items/{id}", {Scope::kRead, true, &Api::GetItem});
  r.Add("items", verb::put, "/v1/items/{id}", {Scope::kWrite, true, &Api::PutItem, {}, true});
  r.Add("items", verb::delete_, "/v1/items/{id}", {Scope::kWrite, true, &Api::DeleteItem});
  r.Add("items_batch", verb::post, "/v1/items:batch",
        {Scope::kWrite, true, &Api::PostItemsBatch, {}, true});
  r.Add("user_detail", verb::get, "/v1/users/{id}", {Scope::kRead, true, &Api::GetUser, {"limit"}});
  r.Add("users", verb::put, "/v1/users/{id}", {Scope::kWrite, true, &Api::PutUser, {}, true});
  // Forgetting a user is an admin operation.
  r.Add("users", verb::delete_, "/v1/users/{id}", {Scope::kAdmin, true, &Api::DeleteUser});
  return r;
}

std::optional<Response> Api::Authorize(const Request& request, Scope needed) const {
  if (!keys_.any()) {
    // No keys: a loopback-only deployment (flywheel serve refuses any other host without
    // keys), where whoever can connect runs the process anyway: every route is open, admin
    // routes included (doc/http_api.md, "Authentication").
    return std::nullopt;
  }
  const auto header = request.find(http::field::authorization);
  if (header == request.end()) {
    return Error(request, http::status::unauthorized, "unauthenticated",
                 "missing 'Authorization: Bearer <key>' header");
  }
  const std::string value(header->value());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.size() <= kBearer.size() || value.compare(0, kBearer.size(), kBearer) != 0) {
    return Error(request, http::status::unauthorized, "unauthenticated",
                 "expected 'Authorization: Bearer <key>'");
  }
  const Scope scope = keys_.ScopeOf(value.substr(kBearer.size()));
  if (scope == Scope::kNone) {
    return Error(request, http::status::unauthorized, "unauthenticated", "unknown API key");
  }
  if (static_cast<int>(scope) < static_cast<int>(needed)) {
    return Error(request, http::status::forbidden, "permission_denied",
                 "the key's scope does not allow this route");
  }
  return std::nullopt;
}

std::optional<Response> Api::CheckJsonBody(const Request& request, size_t max_values) const {
  const JsonShape shape = ScanJson(request.body());
  if (shape.depth > limits_.max_json_depth) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "JSON nested deeper than " + std::to_string(limits_.max_json_depth));
  }
  // A parsed document costs up to ~80 bytes per value (8 MiB of "{}," is ~220 MiB).
  if (shape.values > max_values) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "JSON has more than " + std::to_string(max_values) + " values");
  }
  return std::nullopt;
}

Response Api::Handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  const std::string request_id = RequestId(request, &next_request_);
  std::string route = "other";
  Response res;
  try {
    res = Dispatch(request, request_id, &route);
  } catch (const std::exception& e) {
    res = Error(request, http::status::internal_server_error, "internal", e.what());
  }
  return Finish(request_id, route, start, std::move(res));
}

Response Api::Finish(const std::string& request_id, const std::string& route,
                     std::chrono::steady_clock::time_point start, Response res) {
  res.set("X-Request-Id", request_id);
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (res.result_int() >= 500) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  base::AtomicHistogram* histogram = nullptr;
  {
    base::MutexLock lock(&histograms_mu_);
    auto& slot = latency_[route];
    if (!slot) {
      slot = std::make_unique<base::AtomicHistogram>();
    }
    histogram = slot.get();
  }
  histogram->Add(ms);
  return res;
}

std::optional<Response> Api::CheckRate(const Request& head, const Peer& peer) {
  Scope scope = Scope::kNone;
  if (keys_.any()) {
    const auto header = head.find(http::field::authorization);
    constexpr std::string_view kBearer = "Bearer ";
    if (header != head.end()) {
      const std::string_view value(header->value().data(), header->value().size());
      if (value.starts_with(kBearer)) {
        scope = keys_.ScopeOf(std::string(value.substr(kBearer.size())));
      }
    }
  }
  static constexpr const char* kScopeNames[] = {"none", "read", "write", "admin"};
  RateLimiter::Decision decision;
  std::string what;
  if (scope != Scope::kNone) {
    decision = key_limiter_.Take(kScopeNames[static_cast<int>(scope)], RateLimiter::NowMs());
    what = std::string("the ") + kScopeNames[static_cast<int>(scope)] + " key";
  } else if (!peer.loopback) {
    decision = ip_limiter_.Take(peer.ip, RateLimiter::NowMs());
    what = "client " + peer.ip + " (no valid key)";
  }
  if (decision.allowed) {
    return std::nullopt;
  }
  rate_limited_.fetch_add(1, std::memory_order_relaxed);
  const int64_t seconds = (decision.retry_after_ms + 999) / 1000;
  Response res = Error(
      head, http::status::too_many_requests, "rate_limited",
      "request rate of " + what + " over its limit; retry in " + std::to_string(seconds) + " s");
  res.set(http::field::retry_after, std::to_string(seconds));
  return res;
}

Admission Api::Admit(const RequestHeader& header, const Peer& peer) {
  const auto start = std::chrono::steady_clock::now();
  const Request head(header);  // no body: what Authorize and the errors need
  const std::string_view target(head.target().data(), head.target().size());
  const Router<RouteSpec>::Found found =
      router_.Find(head.method(), target.substr(0, target.find('?')));
  if (auto limited = CheckRate(head, peer)) {
    const std::string route = found.name.empty() ? "other" : std::string(found.name);
    return {Finish(RequestId(head, &next_request_), route, start, std::move(*limited)), 0};
  }
  if (found.route == nullptr) {
    return {Handle(head), 0};  // 404 or 405 (and 400 for a bad query), as Dispatch answers
  }
  const RouteSpec& spec = found.route->handler;
  if (spec.scope != Scope::kNone && Authorize(head, spec.scope).has_value()) {
    return {Handle(head), 0};  // Dispatch answers the same 401/403, counted as usual
  }
  // Routes that read a body take up to the server's limit (HttpServer caps it).
  return {std::nullopt, spec.takes_body ? UINT64_MAX : 0};
}

Response Api::Dispatch(const Request& request, const std::string& request_id, std::string* route) {
  const std::string_view target(request.target().data(), request.target().size());
  const size_t qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  auto query = ParseQuery(qmark == std::string_view::npos ? "" : target.substr(qmark + 1));
  if (!query.ok()) {
    return StatusError(request, query.status());
  }
  const Router<RouteSpec>::Found found = router_.Find(request.method(), path);
  if (found.route == nullptr) {
    if (found.method_not_allowed()) {
      *route = std::string(found.name);
      return Error(request, http::status::method_not_allowed, "method_not_allowed",
                   "method not allowed on " + std::string(path));
    }
    return Error(request, http::status::not_found, "not_found", "no route " + std::string(path));
  }
  *route = found.route->name;
  const RouteSpec& spec = found.route->handler;
  if (spec.scope != Scope::kNone) {
    if (auto denied = Authorize(request, spec.scope)) {
      return *denied;
    }
  }
  if (auto unknown = CheckQueryParams(request, *query, spec.params)) {
    return *unknown;
  }
  std::string param;
  if (found.route->pattern.has_param()) {
    auto decoded = PercentDecode(found.param, false);
    if (!decoded.ok()) {
      return StatusError(request, decoded.status());
    }
    param = std::move(decoded).value();
  }
  Engine* engine = engine_.load(std::memory_order_acquire);
  if (spec.needs_engine && engine == nullptr) {
    return Error(request, http::status::service_unavailable, "unavailable",
                 "recovering: not ready yet");
  }
  if (auto refused = RefuseUnreplicated(request, *route)) {
    return *refused;
  }
  Response res = (this->*spec.handle)(Call{request, request_id, *query, param, engine});
  if (res.result() == http::status::service_unavailable && spec.scope >= Scope::kWrite &&
      engine != nullptr) {
    AddRetryAfter(engine->stats(), &res);  // a full disk: when writes are tried again
  }
  return res;
}

}  // namespace flywheel::server
