// HTTP requests as the server sees them (server/http_server.cc, server/api.cc): the input is the
// raw request (request line, headers, body), parsed by Beast's request_parser with the server's
// default limits, then handed to Api::Handle with API keys set and no engine. That reaches our
// parsing of the target (path, ParseQuery, PercentDecode of path parameters), the router,
// authorisation headers, X-Request-Id, query parameter checks and the 503/404/405 paths.
// Routes that need an engine answer 503 here; their bodies are covered by the JSON targets.
// Never a crash or an uncaught exception; every answer is a valid status with a JSON or HTML
// body.
#include <cstddef>
#include <cstdint>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "fuzz_util.h"
#include "server/api.h"
#include "server/http_server.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static flywheel::server::Api api(
      flywheel::server::ApiKeys{.read = "read-key", .write = "write-key", .admin = "admin-key"},
      flywheel::server::ApiLimits{});
  static const flywheel::server::ServerOptions kDefaults{};
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(kDefaults.max_body_bytes);
  parser.header_limit(static_cast<uint32_t>(kDefaults.max_header_bytes));
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < size && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec || n == 0) {
      break;
    }
    used += n;
  }
  // End of stream after a partial message (Beast asserts that some bytes came first; the
  // server's async_read never calls it on an empty stream either).
  if (!ec && !parser.is_done() && parser.got_some()) {
    parser.put_eof(ec);
  }
  if (ec || !parser.is_done()) {
    return 0;
  }
  const flywheel::server::Request request = parser.release();
  const flywheel::server::Response response = api.Handle(request);
  FUZZ_CHECK(response.result_int() >= 200 && response.result_int() < 600, "bad status");
  return 0;
}
