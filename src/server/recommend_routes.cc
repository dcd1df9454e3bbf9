// Read routes: GET /v1/users/{id}/recommendations, GET /v1/items/{id}/similar,
// POST /v1/users/{id}/recommendations/dry-run.
#include <algorithm>
#include <string>
#include <vector>

#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// A served list (with a recommendation id) carries each item's propensity, and with explain
// its step probability (doc/loop.md); similar items and dry runs do not.
json RecommendationsJson(const RecommendResult& result, const std::string& request_id,
                         bool explain = false) {
  const bool served = !result.recommendation_id.empty();
  json items = json::array();
  for (const Recommendation& r : result.items) {
    json item = {{"id", r.item}, {"score", r.score}, {"reason", r.reason}};
    if (served) {
      item["propensity"] = r.propensity;
      if (explain) {
        item["step"] = r.step;
      }
    }
    if (r.exploration) {
      item["exploration"] = true;
    }
    if (!r.because.empty()) {
      json because = json::array();
      for (const auto& [seed, share] : r.because) {
        because.push_back({{"item", seed}, {"weight", share}});
      }
      item["explanation"] = {{"source", r.source}, {"because", because}};
    } else if (r.trending_count >= 0) {
      item["explanation"] = {{"source", "trending"},
                             {"count", r.trending_count},
                             {"half_life_hours", r.trending_half_life_hours}};
    }
    items.push_back(std::move(item));
  }
  json body = {{"items", items},
               {"model_version", result.model + "@" + std::to_string(result.applied_seq)},
               {"request_id", request_id}};
  if (served) {
    body["recommendation_id"] = result.recommendation_id;
    body["policy"] = result.policy;
  }
  if (result.impression_seq != 0) {
    body["impression_seq"] = result.impression_seq;
  }
  return body;
}

// "a,b,,c" -> {a, b, c}.
std::vector<std::string> SplitCategories(const std::string& text) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) {
      out.push_back(text.substr(start, comma - start));
    }
    start = comma + 1;
  }
  return out;
}

// The query parameters of /recommendations: k, exclude_seen, model, explain, categories, policy
// (checked by the engine), record_impression.
Result<RecommendQuery> ParseRecommendQuery(const std::string& user, const QueryParams& query) {
  RecommendQuery q;
  q.user = user;
  FLYWHEEL_ASSIGN_OR_RETURN(q.k, ParseIntParam(query, "k", 10, 1, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(q.exclude_seen, ParseBoolParam(query, "exclude_seen", true));
  if (auto it = query.find("model"); it != query.end()) {
    q.model = it->second;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(q.explain, ParseBoolParam(query, "explain", false));
  FLYWHEEL_ASSIGN_OR_RETURN(q.record_impression, ParseBoolParam(query, "record_impression", false));
  if (auto it = query.find("policy"); it != query.end()) {
    if (it->second.empty()) {
      return Status::InvalidArgument("field 'policy': empty (omit it for the default policy)")
          .WithField("policy");
    }
    q.policy = it->second;
  }
  if (auto it = query.find("categories"); it != query.end()) {
    q.categories = SplitCategories(it->second);
    if (q.categories.empty()) {
      return Status::InvalidArgument(
                 "field 'categories': expected a comma-separated list of categories")
          .WithField("categories");
    }
  }
  return q;
}

Status BadField(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("field '" + field + "': " + what).WithField(field);
}

// The dry run's "event" object: item, type (strings), value (optional number).
Result<DryRunEvent> ParseDryRunEvent(const json& e) {
  if (!e.is_object()) {
    return BadField("event", "expected an object {\"item\", \"type\", \"value\"}");
  }
  DryRunEvent event;
  for (const auto& [key, value] : e.items()) {
    if (key == "item" || key == "type") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return BadField("event." + key, "expected a non-empty string");
      }
      (key == "item" ? event.item : event.type) = value.get<std::string>();
    } else if (key == "value") {
      if (!value.is_number()) {
        return BadField("event.value", "expected a number");
      }
      event.value = value.get<double>();
    } else {
      return BadField("event." + key, "unknown field (expected item, type, value)");
    }
  }
  if (event.item.empty()) {
    return BadField("event.item", "required");
  }
  if (event.type.empty()) {
    return BadField("event.type", "required");
  }
  return event;
}

// The dry run's body: {"event": {...}, "k", "explain", "exclude_seen", "model", "categories"}.
Status ParseDryRunBody(const json& body, RecommendQuery* q, DryRunEvent* event) {
  if (!body.is_object()) {
    return BadField("event", "expected a JSON object with \"event\"");
  }
  bool has_event = false;
  for (const auto& [key, value] : body.items()) {
    if (key == "event") {
      FLYWHEEL_ASSIGN_OR_RETURN(*event, ParseDryRunEvent(value));
      has_event = true;
    } else if (key == "k") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000) {
        return BadField("k", "must be an integer in 1..1000");
      }
      q->k = value.get<int>();
    } else if (key == "explain" || key == "exclude_seen") {
      if (!value.is_boolean()) {
        return BadField(key, "expected true or false");
      }
      (key == "explain" ? q->explain : q->exclude_seen) = value.get<bool>();
    } else if (key == "model") {
      if (!value.is_string()) {
        return BadField("model", "expected a string");
      }
      q->model = value.get<std::string>();
    } else if (key == "categories") {
      if (!value.is_array() || value.empty() ||
          !std::all_of(value.begin(), value.end(), [](const json& c) { return c.is_string(); })) {
        return BadField("categories", "expected a non-empty array of strings");
      }
      q->categories = value.get<std::vector<std::string>>();
    } else {
      return BadField(key,
                      "unknown field (expected event, k, explain, exclude_seen, model, "
                      "categories)");
    }
  }
  return has_event ? Status::Ok() : BadField("event", "required");
}

}  // namespace

Response Api::DryRun(const Call& call) {
  if (auto refused = CheckJsonBody(call.request, kMaxCatalogJsonValues)) {
    return *refused;
  }
  const json body = json::parse(call.request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Error(call.request, http::status::bad_request, "invalid_argument",
                 "body is not valid JSON");
  }
  RecommendQuery q;
  q.user = call.param;
  DryRunEvent event;
  if (Status st = ParseDryRunBody(body, &q, &event); !st.ok()) {
    return StatusError(call.request, st);
  }
  auto result = call.engine->DryRun(q, event);
  if (!result.ok()) {
    return StatusError(call.request, result.status());
  }
  // Not a served list: no live-quality or item counters.
  json before = RecommendationsJson(result->before, call.request_id);
  before["known_user"] = result->before.known_user;
  json after = RecommendationsJson(result->after, call.request_id);
  after["known_user"] = result->after.known_user;
  return JsonResponse(call.request, http::status::ok, {{"before", before}, {"after", after}});
}

Response Api::Recommendations(const Call& call) {
  Result<RecommendQuery> q = ParseRecommendQuery(call.param, call.query);
  if (!q.ok()) {
    return StatusError(call.request, q.status());
  }
  if (q->record_impression && stream_view_.load(std::memory_order_acquire) != nullptr) {
    return NotReplicated(call.request);  // a `$impression` record on this node only
  }
  if (auto not_yet = AwaitVersion(call)) {
    return *not_yet;
  }
  auto result = call.engine->Recommend(*q);
  if (!result.ok()) {
    return StatusError(call.request, result.status());
  }
  CountServed(call.param, *result);
  json body = RecommendationsJson(*result, call.request_id, q->explain);
  body["known_user"] = result->known_user;
  if (!result->unknown_categories.empty()) {
    json warnings = json::array();
    for (const std::string& name : result->unknown_categories) {
      warnings.push_back({{"code", "unknown_category"},
                          {"field", "categories"},
                          {"message", "unknown category '" + name + "': no item has it"}});
    }
    body["warnings"] = std::move(warnings);
  }
  return JsonResponse(call.request, http::status::ok, body);
}

Response Api::Similar(const Call& call) {
  auto k = ParseIntParam(call.query, "k", 10, 1, 1000);
  if (!k.ok()) {
    return StatusError(call.request, k.status());
  }
  const auto model = call.query.find("model");
  auto result =
      call.engine->Similar(call.param, *k, model == call.query.end() ? "" : model->second);
  if (!result.ok()) {
    return StatusError(call.request, result.status());
  }
  return JsonResponse(call.request, http::status::ok,
                      RecommendationsJson(*result, call.request_id));
}

}  // namespace flywheel::server
