// HttpServer: an HTTP/1.1 server on Boost.Beast/Asio (asynchronous, keep-alive) with explicit
// limits, calling one handler per request. The routes live in api.h; this file knows nothing of
// Flywheel's API.
//
// Each request is read in two steps: its header first, then (once admitted) its body. The
// optional Admit callback sees the header and the client's address before any body byte is
// read: it may answer at once (401, 403, 404, 429: the body is never read and, when one was
// announced, the connection is closed after the answer) and gives the route's body limit. A
// body announced larger than that limit (Content-Length) is refused with 413 without reading it.
//
// Limits (ServerOptions): body bytes (413), header bytes (431), time to receive a whole request
// once its first byte arrived and idle keep-alive time before that (the connection is closed
// without a response), open connections (beyond: 503 and close), and a server-wide budget of
// request-body bytes in flight: an admitted body reserves its Content-Length (a chunked one the
// route's limit) until its handler returned; a body that does not fit gets 503 with
// Retry-After, without being read. One request is in flight per connection, so a connection
// never holds more than one body (its route's limit).
//
// Out of file descriptors (EMFILE/ENFILE on accept), the accept loop backs off (a short timer)
// instead of spinning, and closes the connection idle the longest on a kept-alive connection,
// if any, so that a new client can be served; pending clients wait in the listen backlog.
//
// Threads: `threads` I/O threads run the handlers; a handler may block (an fdatasync in sync
// mode) and then holds one thread. Stop() closes the listener and all connections and joins.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/http.hpp>

#include "flywheel/result.h"

namespace flywheel::server {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Handler = std::function<Response(const Request&)>;
using RequestHeader = boost::beast::http::request_header<>;

// The client of a connection.
struct Peer {
  std::string ip;         // "127.0.0.1", "::1", "203.0.113.9"
  bool loopback = false;  // 127.0.0.0/8, ::1 (and IPv4-mapped loopback)
};

// What Admit decides from a request's header. (Its implicit move may throw: Beast's response
// holds allocating containers; it is only moved where an exception can propagate.)
struct Admission {                 // NOLINT(bugprone-exception-escape)
  std::optional<Response> reject;  // answered at once; the body is never read
  uint64_t max_body_bytes = 0;     // the route's body limit (capped by ServerOptions')
};
// Called on an I/O thread for each request header; must be thread-safe.
using Admit = std::function<Admission(const RequestHeader&, const Peer&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port())
  int threads = 8;       // > cores: a handler blocked in fdatasync must not hold up reads
  uint64_t max_body_bytes = 8ull << 20;
  uint32_t max_header_bytes = 16u << 10;
  int request_timeout_ms = 10'000;
  int idle_timeout_ms = 60'000;
  int max_connections = 1024;
  // Request-body bytes all connections may hold at once (503 + Retry-After beyond).
  uint64_t max_body_bytes_in_flight = 256ull << 20;
  // Out of file descriptors: wait this long before the next accept.
  int accept_backoff_ms = 50;
};

class HttpServer {
 public:
  // Binds and starts serving. kInvalidArgument for a bad host; kUnavailable if the address is
  // in use.
  // `admit` null: every request is admitted with ServerOptions::max_body_bytes.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Handler handler,
                                                   Admit admit = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  std::string address() const;  // "host:port"
  int open_connections() const;
  // Request-body bytes reserved now (admitted bodies not yet handled).
  uint64_t body_bytes_in_flight() const;
  // Accepts that failed for want of file descriptors (each followed by a back-off).
  uint64_t accept_backoffs() const;
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
