#include "server/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/event_types.h"

#include "data/catalog_json.h"
#include "data/event_json.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

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

Response JsonResponse(const Request& request, http::status status, const json& body) {
  Response res{status, request.version()};
  res.set(http::field::content_type, "application/json");
  // Ids and paths from the request may hold invalid UTF-8: replaced, never a throw (500).
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

Response Error(const Request& request, http::status status, const std::string& code,
               const std::string& message, const std::string& field = "") {
  return ErrorResponse(request.version(), status, code, message, field);
}

Response StatusError(const Request& request, const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return Error(request, http::status::bad_request, "invalid_argument", status.message(),
                   data::ErrorField(status.message()));
    case StatusCode::kNotFound:
      return Error(request, http::status::not_found, "not_found", status.message());
    case StatusCode::kUnimplemented:
      return Error(request, http::status::not_implemented, "unimplemented", status.message());
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnavailable:
    case StatusCode::kIoError:
    case StatusCode::kResourceExhausted:
    case StatusCode::kCorruption:
      return Error(request, http::status::service_unavailable, "unavailable", status.message());
    default:
      return Error(request, http::status::internal_server_error, "internal", status.message());
  }
}

int FromHex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? FromHex(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? FromHex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad percent-escape in URL");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<int> ParseIntParam(const std::map<std::string, std::string>& query, const std::string& key,
                          int fallback, int lo, int hi) {
  auto it = query.find(key);
  if (it == query.end()) {
    return fallback;
  }
  // The whole value, digits only (no sign, space or NUL that strtol would stop at or skip).
  const std::string& text = it->second;
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    return Status::InvalidArgument("field '" + key + "': must be an integer in " +
                                   std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int>(value);
}

Result<bool> ParseBoolParam(const std::map<std::string, std::string>& query, const std::string& key,
                            bool fallback) {
  auto it = query.find(key);
  if (it == query.end()) {
    return fallback;
  }
  if (it->second == "true" || it->second == "1") {
    return true;
  }
  if (it->second == "false" || it->second == "0") {
    return false;
  }
  return Status::InvalidArgument("field '" + key + "': must be true or false");
}

// An X-Request-Id worth echoing: 1..128 characters of [A-Za-z0-9._:-] (never reflects control
// characters, quotes or bytes that are not UTF-8 into headers and bodies).
bool IsRequestIdToken(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

// A valid event holds at most ~40 JSON values (6 fields, 32 context entries, its object).
constexpr size_t kMaxJsonValuesPerEvent = 100;
// An item or user body holds at most 64 categories, 256 tags and 256 attributes.
constexpr size_t kMaxCatalogJsonValues = 1000;

// One linear pass over a JSON text, ignoring brackets and commas inside strings: its nesting
// depth and an upper bound on its values (one per comma and per opening bracket, plus one). No
// allocation; run before parsing so that hostile bodies are refused cheaply.
struct JsonShape {
  int depth = 0;
  size_t values = 1;
};

JsonShape ScanJson(std::string_view text) {
  JsonShape shape;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      shape.depth = std::max(shape.depth, ++depth);
      ++shape.values;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',') {
      ++shape.values;
    }
  }
  return shape;
}

json RecommendationsJson(const RecommendResult& result, const std::string& request_id) {
  json items = json::array();
  for (const Recommendation& r : result.items) {
    json item = {{"id", r.item}, {"score", r.score}, {"reason", r.reason}};
    if (r.exploration) {
      item["exploration"] = true;
    }
    if (!r.because.empty()) {
      json because = json::array();
      for (const auto& [seed, share] : r.because) {
        because.push_back({{"item", seed}, {"weight", share}});
      }
      item["explanation"] = {{"source", r.source}, {"because", because}};
    }
    items.push_back(std::move(item));
  }
  return {{"items", items},
          {"model_version", result.model + "@" + std::to_string(result.applied_seq)},
          {"request_id", request_id}};
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

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
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

std::optional<Response> Api::Authorize(const Request& request, Scope needed) const {
  if (!keys_.any()) {
    // No keys: loopback-only deployment. Admin routes stay disabled.
    if (needed == Scope::kAdmin) {
      return Error(request, http::status::forbidden, "permission_denied",
                   "admin routes are disabled when no API keys are configured");
    }
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

Response Api::Handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  std::string request_id;
  if (auto it = request.find("X-Request-Id");
      it != request.end() && IsRequestIdToken({it->value().data(), it->value().size()})) {
    request_id.assign(it->value().data(), it->value().size());
  } else {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "r-%llx",
                  static_cast<unsigned long long>(next_request_.fetch_add(1)));
    request_id = buf;
  }
  std::string route = "other";
  Response res;
  try {
    res = Dispatch(request, request_id, &route);
  } catch (const std::exception& e) {
    res = Error(request, http::status::internal_server_error, "internal", e.what());
  }
  res.set("X-Request-Id", request_id);
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (res.result_int() >= 500) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  base::AtomicHistogram* histogram = nullptr;
  {
    std::lock_guard lock(histograms_mu_);
    auto& slot = latency_[route];
    if (!slot) {
      slot = std::make_unique<base::AtomicHistogram>();
    }
    histogram = slot.get();
  }
  histogram->Add(ms);
  return res;
}

Response Api::Dispatch(const Request& request, const std::string& request_id, std::string* route) {
  const std::string_view target(request.target().data(), request.target().size());
  const size_t qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query_text =
      qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  auto query = ParseQuery(query_text);
  if (!query.ok()) {
    return StatusError(request, query.status());
  }
  const http::verb verb = request.method();
  auto method_not_allowed = [&] {
    return Error(request, http::status::method_not_allowed, "method_not_allowed",
                 "method not allowed on " + std::string(path));
  };
  const bool is_get = verb == http::verb::get;

  if (path == "/healthz") {
    *route = "healthz";
    if (!is_get) {
      return method_not_allowed();
    }
    return JsonResponse(request, http::status::ok, {{"status", "ok"}});
  }
  Engine* engine = engine_.load(std::memory_order_acquire);
  if (path == "/readyz") {
    *route = "readyz";
    if (!is_get) {
      return method_not_allowed();
    }
    if (engine == nullptr) {
      return JsonResponse(request, http::status::service_unavailable, {{"status", "recovering"}});
    }
    return JsonResponse(request, http::status::ok,
                        {{"status", "ready"}, {"last_seq", engine->stats().last_seq}});
  }
  if (path == "/metrics") {
    *route = "metrics";
    if (!is_get) {
      return method_not_allowed();
    }
    return GetMetrics(request);
  }
  if (!path.starts_with("/v1/")) {
    return Error(request, http::status::not_found, "not_found", "no route " + std::string(path));
  }
  auto unavailable = [&] {
    return Error(request, http::status::service_unavailable, "unavailable",
                 "recovering: not ready yet");
  };
  if (path == "/v1/events") {
    *route = "events";
    if (verb != http::verb::post) {
      return method_not_allowed();
    }
    if (auto denied = Authorize(request, Scope::kWrite)) {
      return *denied;
    }
    return engine == nullptr ? unavailable() : PostEvents(request, *engine);
  }
  if (path == "/v1/stats") {
    *route = "stats";
    if (!is_get) {
      return method_not_allowed();
    }
    if (auto denied = Authorize(request, Scope::kRead)) {
      return *denied;
    }
    return engine == nullptr ? unavailable() : GetStats(request, *engine);
  }
  if (path == "/v1/admin/snapshot") {
    *route = "snapshot";
    if (verb != http::verb::post) {
      return method_not_allowed();
    }
    if (auto denied = Authorize(request, Scope::kAdmin)) {
      return *denied;
    }
    if (engine == nullptr) {
      return unavailable();
    }
    auto seq = engine->Snapshot();
    if (!seq.ok()) {
      return StatusError(request, seq.status());
    }
    return JsonResponse(request, http::status::ok, {{"snapshot_seq", *seq}});
  }
  constexpr std::string_view kUsers = "/v1/users/";
  constexpr std::string_view kRecs = "/recommendations";
  if (path.starts_with(kUsers) && path.ends_with(kRecs) &&
      path.size() > kUsers.size() + kRecs.size()) {
    *route = "recommendations";
    if (verb != http::verb::get) {
      return method_not_allowed();
    }
    if (auto denied = Authorize(request, Scope::kRead)) {
      return *denied;
    }
    auto user = PercentDecode(
        path.substr(kUsers.size(), path.size() - kUsers.size() - kRecs.size()), false);
    if (!user.ok()) {
      return StatusError(request, user.status());
    }
    return engine == nullptr ? unavailable()
                             : GetRecommendations(request, *user, *query, request_id, *engine);
  }
  constexpr std::string_view kItems = "/v1/items/";
  constexpr std::string_view kSimilar = "/similar";
  if (path.starts_with(kItems) && path.ends_with(kSimilar) &&
      path.size() > kItems.size() + kSimilar.size()) {
    *route = "similar";
    if (verb != http::verb::get) {
      return method_not_allowed();
    }
    if (auto denied = Authorize(request, Scope::kRead)) {
      return *denied;
    }
    auto item = PercentDecode(
        path.substr(kItems.size(), path.size() - kItems.size() - kSimilar.size()), false);
    if (!item.ok()) {
      return StatusError(request, item.status());
    }
    return engine == nullptr ? unavailable()
                             : GetSimilar(request, *item, *query, request_id, *engine);
  }
  // PUT/DELETE /v1/items/{id}, /v1/users/{id}: one path segment after the prefix.
  const bool items_route = path.starts_with(kItems);
  const std::string_view prefix = items_route ? kItems : kUsers;
  if ((items_route || path.starts_with(kUsers)) && path.size() > prefix.size() &&
      path.find('/', prefix.size()) == std::string_view::npos) {
    *route = items_route ? "items" : "users";
    if (verb != http::verb::put && verb != http::verb::delete_) {
      return method_not_allowed();
    }
    // Forgetting a user is an admin operation; the rest needs write.
    const Scope needed =
        !items_route && verb == http::verb::delete_ ? Scope::kAdmin : Scope::kWrite;
    if (auto denied = Authorize(request, needed)) {
      return *denied;
    }
    auto id = PercentDecode(path.substr(prefix.size()), false);
    if (!id.ok()) {
      return StatusError(request, id.status());
    }
    if (engine == nullptr) {
      return unavailable();
    }
    return items_route ? PutOrDeleteItem(request, *id, *engine)
                       : PutOrDeleteUser(request, *id, *engine);
  }
  return Error(request, http::status::not_found, "not_found", "no route " + std::string(path));
}

Response Api::PostEvents(const Request& request, Engine& engine) const {
  const std::string& body = request.body();
  // Bound the values generously above what max_events_per_batch valid events can hold.
  if (auto refused =
          CheckJsonBody(request, limits_.max_events_per_batch * kMaxJsonValuesPerEvent)) {
    return *refused;
  }
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error(request, http::status::bad_request, "invalid_argument", "body is not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "expected {\"events\": [...]}", "events");
  }
  const json& list = doc["events"];
  if (list.size() > limits_.max_events_per_batch) {
    return Error(
        request, http::status::bad_request, "invalid_argument",
        "more than " + std::to_string(limits_.max_events_per_batch) + " events in one batch",
        "events");
  }
  const EventTypeTable types = EventTypeTable::Default();
  std::vector<Event> events;
  events.reserve(list.size());
  json errors = json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    Result<Event> event = data::EventFromJson(list[i], types);
    if (!event.ok()) {
      errors.push_back({{"index", i},
                        {"field", data::ErrorField(event.status().message())},
                        {"message", event.status().message()}});
      continue;
    }
    events.push_back(std::move(event).value());
  }
  if (!errors.empty()) {
    const std::string field = errors[0]["field"].get<std::string>();
    json body_json = {{"code", "invalid_argument"},
                      {"message", "event " + std::to_string(errors[0]["index"].get<size_t>()) +
                                      ": " + errors[0]["message"].get<std::string>()},
                      {"field", "events[" + std::to_string(errors[0]["index"].get<size_t>()) + "]" +
                                    (field.empty() ? "" : "." + field)},
                      {"errors", errors}};
    return JsonResponse(request, http::status::bad_request, body_json);
  }
  auto result = engine.Ingest(events);
  if (!result.ok()) {
    return StatusError(request, result.status());
  }
  return JsonResponse(request, http::status::accepted,
                      {{"accepted", result->accepted},
                       {"duplicates", result->duplicates},
                       {"first_seq", result->first_seq},
                       {"last_seq", result->last_seq}});
}

Response Api::GetRecommendations(const Request& request, const std::string& user,
                                 const std::map<std::string, std::string>& query,
                                 const std::string& request_id, Engine& engine) {
  RecommendQuery q;
  q.user = user;
  auto k = ParseIntParam(query, "k", 10, 1, 1000);
  if (!k.ok()) {
    return StatusError(request, k.status());
  }
  q.k = *k;
  auto exclude = ParseBoolParam(query, "exclude_seen", true);
  if (!exclude.ok()) {
    return StatusError(request, exclude.status());
  }
  q.exclude_seen = *exclude;
  if (auto it = query.find("model"); it != query.end()) {
    q.model = it->second;
  }
  auto explain = ParseBoolParam(query, "explain", false);
  if (!explain.ok()) {
    return StatusError(request, explain.status());
  }
  q.explain = *explain;
  if (auto it = query.find("categories"); it != query.end()) {
    for (size_t start = 0; start <= it->second.size();) {
      const size_t comma = std::min(it->second.find(',', start), it->second.size());
      if (comma > start) {
        q.categories.push_back(it->second.substr(start, comma - start));
      }
      start = comma + 1;
    }
    if (q.categories.empty()) {
      return Error(request, http::status::bad_request, "invalid_argument",
                   "field 'categories': expected a comma-separated list of categories",
                   "categories");
    }
  }
  auto result = engine.Recommend(q);
  if (!result.ok()) {
    return StatusError(request, result.status());
  }
  json body = RecommendationsJson(*result, request_id);
  body["known_user"] = result->known_user;
  return JsonResponse(request, http::status::ok, body);
}

Response Api::GetSimilar(const Request& request, const std::string& item,
                         const std::map<std::string, std::string>& query,
                         const std::string& request_id, Engine& engine) {
  auto k = ParseIntParam(query, "k", 10, 1, 1000);
  if (!k.ok()) {
    return StatusError(request, k.status());
  }
  const auto model = query.find("model");
  auto result = engine.Similar(item, *k, model == query.end() ? "" : model->second);
  if (!result.ok()) {
    return StatusError(request, result.status());
  }
  return JsonResponse(request, http::status::ok, RecommendationsJson(*result, request_id));
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

Response Api::PutOrDeleteItem(const Request& request, const std::string& id, Engine& engine) const {
  Result<uint64_t> seq = Status::Ok();
  if (request.method() == http::verb::put) {
    if (auto refused = CheckJsonBody(request, kMaxCatalogJsonValues)) {
      return *refused;
    }
    Result<Item> item = data::ParseItemJson(id, request.body());
    if (!item.ok()) {
      return StatusError(request, item.status());
    }
    seq = engine.PutItem(*item);
  } else {
    seq = engine.DeleteItem(id);
  }
  if (!seq.ok()) {
    return StatusError(request, seq.status());
  }
  return JsonResponse(request, http::status::accepted, {{"seq", *seq}});
}

Response Api::PutOrDeleteUser(const Request& request, const std::string& id, Engine& engine) const {
  if (request.method() == http::verb::put) {
    if (auto refused = CheckJsonBody(request, kMaxCatalogJsonValues)) {
      return *refused;
    }
    Result<User> user = data::ParseUserJson(id, request.body());
    if (!user.ok()) {
      return StatusError(request, user.status());
    }
    Result<uint64_t> seq = engine.PutUser(*user);
    if (!seq.ok()) {
      return StatusError(request, seq.status());
    }
    return JsonResponse(request, http::status::accepted, {{"seq", *seq}});
  }
  Result<ForgetResult> forgotten = engine.ForgetUser(id);
  if (!forgotten.ok()) {
    return StatusError(request, forgotten.status());
  }
  return JsonResponse(request, http::status::ok,
                      {{"seq", forgotten->seq}, {"snapshot_seq", forgotten->snapshot_seq}});
}

Response Api::GetStats(const Request& request, Engine& engine) {
  const EngineStats s = engine.stats();
  json latency = json::object();
  {
    std::lock_guard lock(histograms_mu_);
    for (const auto& [route, h] : latency_) {
      latency[route] = {
          {"p50", h->Quantile(0.5)}, {"p99", h->Quantile(0.99)}, {"count", h->count()}};
    }
  }
  latency["ingest"] = {{"p50", s.ingest_ms_p50}, {"p99", s.ingest_ms_p99}};
  return JsonResponse(
      request, http::status::ok,
      {{"events", s.last_seq},
       {"last_seq", s.last_seq},
       {"durable_seq", s.durable_seq},
       {"applied_seq", s.applied_seq},
       {"users", s.users},
       {"items", s.items},
       {"duplicates", s.duplicates},
       {"snapshot_seq", s.snapshot_seq},
       {"deleted_items", s.deleted_items},
       {"forgotten_users", s.forgotten_users},
       {"vector_index", {{"items", s.vector_index_items}, {"upserts", s.vector_index_upserts}}},
       {"models", s.models},
       {"latency_ms", latency},
       {"freshness_ms",
        {{"p50", s.freshness_ms_p50}, {"p99", s.freshness_ms_p99}, {"count", s.freshness_count}}}});
}

Response Api::GetMetrics(const Request& request) {
  Response res{http::status::ok, request.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  std::string text;
  Engine* engine = engine_.load(std::memory_order_acquire);
  text += "# HELP flywheel_ready 1 once recovery finished.\n# TYPE flywheel_ready gauge\n";
  text += std::string("flywheel_ready ") + (engine != nullptr ? "1" : "0") + "\n";
  text +=
      "# HELP flywheel_http_requests_total HTTP requests served.\n"
      "# TYPE flywheel_http_requests_total counter\n";
  text += "flywheel_http_requests_total " + std::to_string(requests_.load()) + "\n";
  text +=
      "# HELP flywheel_http_errors_total HTTP responses with status >= 500.\n"
      "# TYPE flywheel_http_errors_total counter\n";
  text += "flywheel_http_errors_total " + std::to_string(errors_.load()) + "\n";
  if (engine != nullptr) {
    text +=
        "# HELP flywheel_events_total Events logged (acknowledged, duplicates excluded).\n"
        "# TYPE flywheel_events_total counter\n";
    text += "flywheel_events_total " + std::to_string(engine->stats().last_seq) + "\n";
    text += engine->MetricsText();
  }
  text +=
      "# HELP flywheel_request_seconds HTTP request latency by route.\n"
      "# TYPE flywheel_request_seconds histogram\n";
  std::lock_guard lock(histograms_mu_);
  for (const auto& [route, h] : latency_) {
    text += h->Prometheus("flywheel_request_seconds", "route=\"" + route + "\"");
  }
  res.body() = std::move(text);
  return res;
}

}  // namespace flywheel::server
