// AccessLog: one structured log record per HTTP request (doc/operations.md, "Logs"), written
// when `flywheel serve --access-log` is given: method, path (without the query string), status,
// response body bytes, handler duration, the request id and the scope of the key presented
// ("read", "write", "admin", "invalid" for an unknown key, "none" without one). The key itself
// is never logged, nor the query string or the body; the path is (it holds the ids of the
// route, as in any web server's access log).
//
// Thread safety: Record may be called from any connection thread (the Logger serialises lines).
#pragma once

#include <string>

#include "base/log.h"
#include "server/api.h"
#include "server/http_server.h"

namespace flywheel::server {

class AccessLog {
 public:
  // Neither is owned; both must outlive the AccessLog.
  AccessLog(base::Logger* logger, const ApiKeys* keys) : logger_(logger), keys_(keys) {}

  void Record(const Request& request, const Response& response, double duration_ms) const;

  // The scope name logged for a request's Authorization header.
  std::string ScopeName(const Request& request) const;

 private:
  base::Logger* const logger_;
  const ApiKeys* const keys_;
};

}  // namespace flywheel::server
