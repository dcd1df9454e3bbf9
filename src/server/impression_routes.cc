// POST /v1/impressions (doc/http_api.md, doc/loop.md "Impressions"): a list the client showed,
// as {"user", "recommendation_id"?, "items"?, "ts"?}, or many as {"impressions": [...]}.
#include <string>
#include <vector>

#include "base/time_util.h"
#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// At most this many impressions in one batch.
constexpr size_t kMaxImpressionsPerBatch = 1000;

Status Bad(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("field '" + field + "': " + what).WithField(field);
}

Result<std::string> StringField(const json& value, const std::string& field) {
  if (!value.is_string()) {
    return Bad(field, std::string("expected a string, got ") + value.type_name());
  }
  return value.get<std::string>();
}

Result<TimestampMs> TsField(const json& value, const std::string& field) {
  if (value.is_number_integer()) {
    return value.get<TimestampMs>();  // range: Engine::RecordImpression
  }
  if (value.is_string()) {
    Result<TimestampMs> ts = base::ParseIso8601(value.get<std::string>());
    if (!ts.ok()) {
      return Bad(field, ts.status().message());
    }
    return *ts;
  }
  return Bad(field, "expected integer milliseconds or an ISO-8601 string");
}

// One impression object; `at` prefixes the fields ("impressions[2].").
Result<ImpressionInput> ParseImpression(const json& doc, const std::string& at) {
  if (!doc.is_object()) {
    return Bad(at.empty() ? "" : at.substr(0, at.size() - 1), "expected an object");
  }
  ImpressionInput in;
  for (const auto& [key, value] : doc.items()) {
    const std::string field = at + key;
    if (key == "user") {
      FLYWHEEL_ASSIGN_OR_RETURN(in.user, StringField(value, field));
    } else if (key == "recommendation_id") {
      FLYWHEEL_ASSIGN_OR_RETURN(in.recommendation_id, StringField(value, field));
    } else if (key == "ts") {
      FLYWHEEL_ASSIGN_OR_RETURN(in.ts_ms, TsField(value, field));
    } else if (key == "items") {
      if (!value.is_array() || value.empty() || value.size() > 1000) {
        return Bad(field, "expected an array of 1..1000 item ids");
      }
      for (size_t i = 0; i < value.size(); ++i) {
        FLYWHEEL_ASSIGN_OR_RETURN(std::string item,
                                  StringField(value[i], field + "[" + std::to_string(i) + "]"));
        in.items.push_back(std::move(item));
      }
    } else {
      return Bad(field, "unknown field (allowed: user, recommendation_id, items, ts)");
    }
  }
  if (!doc.contains("user")) {
    return Bad(at + "user", "missing");
  }
  if (in.recommendation_id.empty() && in.items.empty()) {
    return Bad(at + "recommendation_id", "send a recommendation_id, items, or both");
  }
  return in;
}

json ResultJson(const ImpressionResult& r) {
  return {
      {"seq", r.seq}, {"duplicate", r.duplicate}, {"items", r.items}, {"from_cache", r.from_cache}};
}

// The engine's refusal of an entry, its field prefixed by the entry's place.
Status Prefixed(const Status& st, const std::string& at) {
  if (at.empty() || st.field().empty()) {
    return st;
  }
  return Status(st.code(), st.message()).WithField(at + st.field());
}

}  // namespace

Response Api::PostImpressions(const Call& call) {
  const Request& request = call.request;
  if (auto refused = CheckJsonBody(request, kMaxImpressionsPerBatch * 1010)) {
    return *refused;
  }
  const json doc = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error(request, http::status::bad_request, "invalid_argument", "body is not valid JSON");
  }
  const bool batch = doc.is_object() && doc.contains("impressions");
  if (batch && (doc.size() != 1 || !doc["impressions"].is_array() || doc["impressions"].empty() ||
                doc["impressions"].size() > kMaxImpressionsPerBatch)) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "expected {\"impressions\": [1..1000 impressions]}", "impressions");
  }
  std::vector<ImpressionInput> inputs;
  const json& list = batch ? doc["impressions"] : doc;
  for (size_t i = 0; i < (batch ? list.size() : 1); ++i) {
    const std::string at = batch ? "impressions[" + std::to_string(i) + "]." : "";
    Result<ImpressionInput> in = ParseImpression(batch ? list[i] : doc, at);
    if (!in.ok()) {
      return StatusError(request, in.status());
    }
    inputs.push_back(std::move(in).value());
  }
  // Every entry parsed: each is recorded in order (independently: a refused entry does not undo
  // the ones before it; its error takes its place in the answer).
  json results = json::array();
  for (size_t i = 0; i < inputs.size(); ++i) {
    Result<ImpressionResult> r = call.engine->RecordImpression(inputs[i]);
    if (!batch) {
      if (r.ok()) {
        return JsonResponse(request, http::status::accepted, ResultJson(*r));
      }
      if (r.status().code() == StatusCode::kNotFound) {  // names the field, like a 400
        return Error(request, http::status::not_found, "not_found", r.status().message(),
                     r.status().field());
      }
      return StatusError(request, r.status());
    }
    if (r.ok()) {
      results.push_back(ResultJson(*r));
      continue;
    }
    const Status st = Prefixed(r.status(), "impressions[" + std::to_string(i) + "].");
    const bool client =
        st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound;
    if (!client) {
      return StatusError(request, st);  // the log refused writes: the rest would fail too
    }
    results.push_back(
        {{"error",
          {{"code", st.code() == StatusCode::kNotFound ? "not_found" : "invalid_argument"},
           {"message", st.message()},
           {"field", st.field()}}}});
  }
  return JsonResponse(request, http::status::accepted, {{"impressions", results}});
}

}  // namespace flywheel::server
