// Read routes: GET /v1/users/{id}/recommendations, GET /v1/items/{id}/similar.
#include <algorithm>
#include <string>
#include <vector>

#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

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
    } else if (r.trending_count >= 0) {
      item["explanation"] = {{"source", "trending"},
                             {"count", r.trending_count},
                             {"half_life_hours", r.trending_half_life_hours}};
    }
    items.push_back(std::move(item));
  }
  return {{"items", items},
          {"model_version", result.model + "@" + std::to_string(result.applied_seq)},
          {"request_id", request_id}};
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

// The query parameters of /recommendations: k, exclude_seen, model, explain, categories.
Result<RecommendQuery> ParseRecommendQuery(const std::string& user, const QueryParams& query) {
  RecommendQuery q;
  q.user = user;
  FLYWHEEL_ASSIGN_OR_RETURN(q.k, ParseIntParam(query, "k", 10, 1, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(q.exclude_seen, ParseBoolParam(query, "exclude_seen", true));
  if (auto it = query.find("model"); it != query.end()) {
    q.model = it->second;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(q.explain, ParseBoolParam(query, "explain", false));
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

}  // namespace

Response Api::Recommendations(const Call& call) {
  Result<RecommendQuery> q = ParseRecommendQuery(call.param, call.query);
  if (!q.ok()) {
    return StatusError(call.request, q.status());
  }
  auto result = call.engine->Recommend(*q);
  if (!result.ok()) {
    return StatusError(call.request, result.status());
  }
  json body = RecommendationsJson(*result, call.request_id);
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
