// HttpTarget: the simulator against a running `flywheel serve` (doc/http_api.md), as a client:
//   GET  /v1/users/{u}/recommendations?k=K[&policy=P]   the list, its recommendation_id and
//                                                       each item's propensity
//   POST /v1/impressions {"user", "recommendation_id"}  when the list is shown
//   POST /v1/events {"events": [...]}                   outcomes, each with an id and the
//                                                       list's recommendation_id
//   POST /v1/items:batch                                new items (category, creation time)
// After each write it polls GET /v1/stats until the server applied it (applied_seq), so a
// single-threaded run against a fresh data directory with a fixed `loop.seed` is reproducible.
// A server whose answers carry no recommendation_id (impressions not supported) gets no
// impressions and events without the field (counted as impressions_unsupported).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "client/http_client.h"
#include "sim/target.h"

namespace flywheel::sim {

class HttpTarget : public SimTarget {
 public:
  static Result<std::unique_ptr<HttpTarget>> Open(const std::string& url,
                                                  const std::string& bearer_token);

  std::string Describe() const override { return url_; }
  Status PutItems(std::span<const Item> items) override;
  Result<ServedList> Recommend(const RequestSpec& request) override;
  Status RecordImpression(const std::string& user, const ServedList& list,
                          TimestampMs ts_ms) override;
  Status SendEvents(std::span<const Event> events) override;
  TargetCounters counters() const override { return counters_; }

 private:
  HttpTarget(std::string url, client::Url parsed, client::ClientOptions options);
  // Sends; a transport error or a status other than 2xx is an error naming the route.
  Result<client::Response> Call(const char* method, const std::string& path,
                                const std::string& body);
  // Polls /v1/stats until applied_seq >= seq.
  Status WaitApplied(uint64_t seq);

  std::string url_;
  std::string prefix_;
  client::HttpClient client_;
  TargetCounters counters_;
};

}  // namespace flywheel::sim
