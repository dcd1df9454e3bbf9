#include "server/access_log.h"

#include <string_view>
#include <vector>

namespace flywheel::server {

namespace http = boost::beast::http;

std::string AccessLog::ScopeName(const Request& request) const {
  const auto header = request.find(http::field::authorization);
  if (header == request.end()) {
    return "none";
  }
  const std::string_view value(header->value().data(), header->value().size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.substr(0, kBearer.size()) != kBearer) {
    return "invalid";
  }
  switch (keys_->ScopeOf(std::string(value.substr(kBearer.size())))) {
    case Scope::kRead:
      return "read";
    case Scope::kWrite:
      return "write";
    case Scope::kAdmin:
      return "admin";
    case Scope::kNone:
      break;
  }
  return "invalid";
}

void AccessLog::Record(const Request& request, const Response& response, double duration_ms) const {
  if (!logger_->Enabled(base::LogLevel::kInfo)) {
    return;
  }
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const auto id = response.find("X-Request-Id");
  const auto method = request.method_string();
  std::vector<base::LogField> fields = {
      {"method", std::string(method.data(), method.size())},
      {"path", std::string(path.substr(0, 512))},
      {"status", static_cast<int>(response.result_int())},
      {"bytes", static_cast<uint64_t>(response.body().size())},
      {"duration_ms", duration_ms},
      {"scope", ScopeName(request)},
      {"request_id",
       id != response.end() ? std::string(id->value().data(), id->value().size()) : std::string()}};
  logger_->Log(base::LogLevel::kInfo, "request", fields);
}

}  // namespace flywheel::server
