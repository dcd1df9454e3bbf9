#include "sim/http_target.h"

#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

namespace flywheel::sim {
namespace {

constexpr int kApplyTimeoutMs = 120'000;

// The body of an error answer, shortened, for messages.
std::string Excerpt(const std::string& body) {
  return body.size() <= 300 ? body : body.substr(0, 300) + "...";
}

Result<nlohmann::json> ParseBody(const client::Response& response, const std::string& what) {
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Internal("simulate: " + what + ": the answer is not a JSON object");
  }
  return doc;
}

}  // namespace

HttpTarget::HttpTarget(std::string url, client::Url parsed, client::ClientOptions options)
    : url_(std::move(url)), prefix_(std::move(parsed.prefix)), client_(std::move(options)) {}

Result<std::unique_ptr<HttpTarget>> HttpTarget::Open(const std::string& url,
                                                     const std::string& bearer_token) {
  FLYWHEEL_ASSIGN_OR_RETURN(client::Url parsed, client::ParseUrl(url));
  client::ClientOptions options;
  options.host = parsed.host;
  options.port = parsed.port;
  options.bearer_token = bearer_token;
  // Every event carries an id and impressions are idempotent per recommendation id.
  options.retry_non_idempotent = true;
  options.user_agent = "flywheel-simulate/1";
  std::unique_ptr<HttpTarget> target(new HttpTarget(url, std::move(parsed), std::move(options)));
  FLYWHEEL_RETURN_IF_ERROR(target->client_.Connect().WithPrefix("simulate: " + url));
  return target;
}

Result<client::Response> HttpTarget::Call(const char* method, const std::string& path,
                                          const std::string& body) {
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response response, client_.Send(method, prefix_ + path, body));
  if (response.status < 200 || response.status >= 300) {
    const std::string what = std::string(method) + " " + path;
    const std::string message = "simulate: " + what + ": HTTP " + std::to_string(response.status) +
                                " " + Excerpt(response.body);
    if (response.status == 404) {
      return Status::NotFound(message);
    }
    if (response.status >= 400 && response.status < 500) {
      return Status::InvalidArgument(message);
    }
    return Status::Unavailable(message);
  }
  return response;
}

Status HttpTarget::WaitApplied(uint64_t seq) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kApplyTimeoutMs);
  auto pause = std::chrono::microseconds(200);
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(client::Response response, Call("GET", "/v1/stats", ""));
    FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, ParseBody(response, "GET /v1/stats"));
    if (doc.value("applied_seq", uint64_t{0}) >= seq) {
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::DeadlineExceeded("simulate: the server did not apply sequence " +
                                      std::to_string(seq) + " in time");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
}

Status HttpTarget::PutItems(std::span<const Item> items) {
  constexpr size_t kBatch = 1000;
  for (size_t from = 0; from < items.size(); from += kBatch) {
    nlohmann::json batch = nlohmann::json::array();
    for (size_t i = from; i < std::min(items.size(), from + kBatch); ++i) {
      nlohmann::json item = {{"id", items[i].id}, {"categories", items[i].categories}};
      if (items[i].created_ms != 0) {
        item["created"] = items[i].created_ms;
      }
      batch.push_back(std::move(item));
    }
    const nlohmann::json body = {{"items", std::move(batch)}};
    FLYWHEEL_ASSIGN_OR_RETURN(client::Response response,
                              Call("POST", "/v1/items:batch", body.dump()));
    ++counters_.item_batches;
    FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, ParseBody(response, "POST /v1/items:batch"));
    FLYWHEEL_RETURN_IF_ERROR(WaitApplied(doc.value("last_seq", uint64_t{0})));
  }
  return Status::Ok();
}

Result<ServedList> HttpTarget::Recommend(const RequestSpec& request) {
  std::string path = "/v1/users/" + client::UrlEncode(request.user) +
                     "/recommendations?k=" + std::to_string(request.k);
  if (!request.policy.empty()) {
    path += "&policy=" + client::UrlEncode(request.policy);
  }
  if (!request.model.empty()) {
    path += "&model=" + client::UrlEncode(request.model);
  }
  const bool in_call = request.record_impression && request.record_in_call;
  if (in_call) {
    path += "&record_impression=true";
  }
  ++counters_.recommend_calls;
  const auto start = std::chrono::steady_clock::now();
  Result<client::Response> answer = Call("GET", path, "");
  const double call_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response response, std::move(answer));
  FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, ParseBody(response, "GET recommendations"));
  ServedList list;
  list.call_ms = call_ms;
  list.recommendation_id = doc.value("recommendation_id", std::string());
  const uint64_t impression_seq = doc.value("impression_seq", uint64_t{0});
  if (in_call && impression_seq != 0) {
    list.impression_recorded = true;
    ++counters_.impression_calls;
    FLYWHEEL_RETURN_IF_ERROR(WaitApplied(impression_seq));  // outside call_ms
  }
  list.policy = doc.value("policy", std::string());
  const nlohmann::json& items = doc["items"];
  if (!items.is_array()) {
    return Status::Internal("simulate: GET recommendations: no \"items\" array");
  }
  for (const nlohmann::json& item : items) {
    ServedItem served;
    served.item = item.value("id", std::string());
    const auto p = item.find("propensity");
    served.propensity = (p != item.end() && p->is_number()) ? p->get<double>() : std::nan("");
    list.items.push_back(std::move(served));
  }
  return list;
}

Status HttpTarget::RecordImpression(const std::string& user, const ServedList& list,
                                    TimestampMs ts_ms) {
  if (list.recommendation_id.empty() || list.impression_recorded) {
    counters_.impressions_unsupported += list.recommendation_id.empty() ? 1 : 0;
    return Status::Ok();
  }
  // The simulated time it was shown (the server's default, the served list's request time, is
  // its last event time: earlier than the simulated request by up to the arrival gap).
  const nlohmann::json body = {
      {"user", user}, {"recommendation_id", list.recommendation_id}, {"ts", ts_ms}};
  ++counters_.impression_calls;
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response response,
                            Call("POST", "/v1/impressions", body.dump()));
  FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, ParseBody(response, "POST /v1/impressions"));
  if (doc.value("duplicate", false)) {
    ++counters_.impressions_duplicate;
    return Status::Ok();
  }
  return WaitApplied(doc.value("seq", uint64_t{0}));
}

Status HttpTarget::SendEvents(std::span<const Event> events) {
  if (events.empty()) {
    return Status::Ok();
  }
  nlohmann::json list = nlohmann::json::array();
  for (const Event& event : events) {
    nlohmann::json e = {{"user", event.user},
                        {"item", event.item},
                        {"type", event.type},
                        {"ts", event.ts_ms},
                        {"id", event.id}};
    if (!event.recommendation_id.empty()) {
      e["recommendation_id"] = event.recommendation_id;
    }
    list.push_back(std::move(e));
  }
  const nlohmann::json body = {{"events", std::move(list)}};
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response response, Call("POST", "/v1/events", body.dump()));
  ++counters_.event_batches;
  counters_.events_sent += static_cast<int64_t>(events.size());
  FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, ParseBody(response, "POST /v1/events"));
  return WaitApplied(doc.value("last_seq", uint64_t{0}));
}

}  // namespace flywheel::sim
