// HttpClient: a small synchronous HTTP/1.1 client over Boost.Beast for Flywheel's API (the
// replay command, the load bench, tests). One keep-alive connection per client, opened lazily
// and reopened when the server closed it; not thread-safe (use one client per thread).
//
// Errors: transport failures are Status errors (kUnavailable: cannot connect or the connection
// broke; kDeadlineExceeded: a timeout; kResourceExhausted: the response is over the size limit;
// kInvalidArgument: a bad URL or option). Any HTTP status, 4xx/5xx included, is a Response.
//
// Reconnects: a request that fails on a reused connection before any byte of the response
// arrived (the server closed an idle keep-alive connection) is sent once more on a fresh
// connection. Only idempotent methods (GET, HEAD, PUT, DELETE) are retried unless
// `retry_non_idempotent` is set: POST /v1/events is safe to retry only when every event carries
// an `id` (the server drops repeats).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flywheel/result.h"

namespace flywheel::client {

// "http://host:port[/prefix]" split into parts (https is not supported).
struct Url {
  std::string host;
  uint16_t port = 80;
  std::string prefix;  // path prefix without a trailing '/', e.g. "" or "/api"
};
Result<Url> ParseUrl(std::string_view text);

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 80;
  std::string bearer_token;  // non-empty: every request carries "Authorization: Bearer <token>"
  int connect_timeout_ms = 5'000;
  int request_timeout_ms = 30'000;  // writing the request and reading the whole response
  uint64_t max_response_bytes = 64ull << 20;
  bool retry_non_idempotent = false;
  std::string user_agent = "flywheel-client/1";
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;
  std::string body;
  Headers headers;
  // The value of header `name` (case-insensitive), or empty.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (method "GET", "POST", ...; target "/v1/stats?x=1") and reads the whole
  // response. A non-empty body is sent as application/json unless `headers` names a
  // Content-Type.
  Result<Response> Send(std::string_view method, std::string_view target, std::string_view body,
                        const Headers& headers = {});
  Result<Response> Get(std::string_view target) { return Send("GET", target, ""); }
  Result<Response> Post(std::string_view target, std::string_view body) {
    return Send("POST", target, body);
  }

  // Opens the connection now (Send opens it lazily). No-op when already connected.
  Status Connect();
  void Close();
  bool connected() const;
  // Connections opened so far (the first one included) and requests sent again after a stale
  // keep-alive connection.
  int64_t connections_opened() const;
  int64_t retries() const;
  const ClientOptions& options() const { return options_; }

  class Impl;  // implementation detail (http_client.cc)

 private:
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a path segment or query value (unreserved characters kept).
std::string UrlEncode(std::string_view text);

}  // namespace flywheel::client
