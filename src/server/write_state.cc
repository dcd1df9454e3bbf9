#include "server/write_state.h"

#include <string>

#include <nlohmann/json.hpp>

#include "server/api_util.h"

namespace flywheel::server {

namespace http = boost::beast::http;
using nlohmann::json;

Response ReadyzResponse(const Request& request, const EngineStats& stats) {
  if (stats.write_state == "disk_full" || stats.write_state == "failed") {
    json body = {{"status", "failed"},
                 {"reason", stats.write_state == "disk_full" ? "disk_full" : "log_failed"},
                 {"message", stats.write_error},
                 {"last_seq", stats.last_seq}};
    if (stats.write_state == "disk_full") {
      body["retry_after_s"] = stats.write_retry_after_s;
    }
    Response res = JsonResponse(request, http::status::service_unavailable, body);
    AddRetryAfter(stats, &res);
    return res;
  }
  json body = {{"status", "ready"}, {"last_seq", stats.last_seq}};
  if (stats.write_state == "read_only") {
    body["read_only"] = true;
  }
  return JsonResponse(request, http::status::ok, body);
}

void AddRetryAfter(const EngineStats& stats, Response* response) {
  if (stats.write_state == "disk_full" && stats.write_retry_after_s > 0) {
    response->set(http::field::retry_after, std::to_string(stats.write_retry_after_s));
  }
}

}  // namespace flywheel::server
