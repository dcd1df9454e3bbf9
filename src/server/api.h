// Api: the routes of doc/http_api.md on top of an Engine. Stateless apart from counters; one
// instance serves all connections (Handle is thread-safe).
//
// Routes: POST /v1/events, PUT/DELETE /v1/items/{id}, PUT/DELETE /v1/users/{id},
// GET /v1/users/{id}/recommendations (k, exclude_seen, categories, explain, model),
// GET /v1/items/{id}/similar, GET /v1/stats, GET /metrics, GET /healthz, GET /readyz,
// POST /v1/admin/snapshot; API keys with scopes.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "flywheel/engine.h"

#include "base/histogram.h"
#include "server/http_server.h"

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
};

class Api {
 public:
  Api(ApiKeys keys, ApiLimits limits) : keys_(std::move(keys)), limits_(limits) {}

  // The engine once recovery finished (before that, /readyz answers 503 and API routes 503).
  // Not owned; must outlive the Api.
  void SetEngine(Engine* engine) { engine_.store(engine, std::memory_order_release); }

  Response Handle(const Request& request);

 private:
  Response Dispatch(const Request& request, const std::string& request_id, std::string* route);
  Response PostEvents(const Request& request, Engine& engine) const;
  Response GetRecommendations(const Request& request, const std::string& user,
                              const std::map<std::string, std::string>& query,
                              const std::string& request_id, Engine& engine);
  Response GetSimilar(const Request& request, const std::string& item,
                      const std::map<std::string, std::string>& query,
                      const std::string& request_id, Engine& engine);
  Response PutOrDeleteItem(const Request& request, const std::string& id, Engine& engine) const;
  Response PutOrDeleteUser(const Request& request, const std::string& id, Engine& engine) const;
  Response GetStats(const Request& request, Engine& engine);
  Response GetMetrics(const Request& request);
  // nullopt when the body's JSON nesting and value count are within limits (checked before
  // parsing), else the 400 response.
  std::optional<Response> CheckJsonBody(const Request& request, size_t max_values) const;
  // nullopt when allowed, else the 401/403 response.
  std::optional<Response> Authorize(const Request& request, Scope needed) const;

  const ApiKeys keys_;
  const ApiLimits limits_;
  std::atomic<Engine*> engine_{nullptr};
  std::atomic<uint64_t> next_request_{1};
  std::mutex histograms_mu_;
  std::map<std::string, std::unique_ptr<base::AtomicHistogram>> latency_;  // by route
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> errors_{0};
};

// Nesting depth of a JSON text (objects and arrays), ignoring brackets inside strings.
int JsonDepth(std::string_view text);

// Splits "a=1&b=x%20y" into decoded pairs (last value wins). kInvalidArgument on bad escapes.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace flywheel::server
