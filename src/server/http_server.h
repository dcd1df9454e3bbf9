// HttpServer: an HTTP/1.1 server on Boost.Beast/Asio (asynchronous, keep-alive) with explicit
// limits, calling one handler per request. The routes live in api.h; this file knows nothing of
// Flywheel's API.
//
// Limits (ServerOptions): body bytes (413), header bytes (431), time to receive a whole request
// once its first byte arrived and idle keep-alive time before that (the connection is closed
// without a response), open connections (beyond: 503 and close).
//
// Threads: `threads` I/O threads run the handlers; a handler may block (an fdatasync in sync
// mode) and then holds one thread. Stop() closes the listener and all connections and joins.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/beast/http.hpp>

#include "flywheel/result.h"

namespace flywheel::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port())
  int threads = 8;       // > cores: a handler blocked in fdatasync must not hold up reads
  uint64_t max_body_bytes = 8ull << 20;
  uint32_t max_header_bytes = 16u << 10;
  int request_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  int max_connections = 1024;
};

class HttpServer {
 public:
  // Binds and starts serving. kInvalidArgument for a bad host; kUnavailable if the address is
  // in use.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  std::string address() const;  // "host:port"
  int open_connections() const;
  void Stop();

  class Impl;  // implementation detail (http_server.cc)

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A JSON error response {"code", "message", "field"} with the status for `status.code()`.
Response ErrorResponse(unsigned version, boost::beast::http::status http_status,
                       const std::string& code, const std::string& message,
                       const std::string& field = "");

}  // namespace flywheel::server
