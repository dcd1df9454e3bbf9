#include "client/http_client.h"

#include <cctype>
#include <chrono>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/strings.h"

namespace flywheel::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

bool IsIdempotent(http::verb verb) {
  return verb == http::verb::get || verb == http::verb::head || verb == http::verb::put ||
         verb == http::verb::delete_ || verb == http::verb::options;
}

// Errors that mean "the peer closed or reset the connection".
bool IsConnectionLost(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == net::error::not_connected;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Url> ParseUrl(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (!text.starts_with(kScheme)) {
    return Status::InvalidArgument(
        "url '" + std::string(text) +
        "': expected http://host:port[/prefix] (https is not supported)");
  }
  std::string_view rest = text.substr(kScheme.size());
  Url url;
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    url.prefix = std::string(rest.substr(slash));
    while (!url.prefix.empty() && url.prefix.back() == '/') {
      url.prefix.pop_back();
    }
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  if (rest.starts_with('[')) {  // [::1]:8080
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("url '" + std::string(text) + "': unterminated '['");
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return Status::InvalidArgument("url '" + std::string(text) + "': bad host");
    }
    rest = rest.empty() ? rest : rest.substr(1);
  } else {
    const size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  if (host.empty()) {
    return Status::InvalidArgument("url '" + std::string(text) + "': empty host");
  }
  url.host = std::string(host);
  if (!rest.empty()) {
    auto port = base::ParseInt64(rest);
    if (!port.ok() || *port < 1 || *port > 65535) {
      return Status::InvalidArgument("url '" + std::string(text) + "': port must be in 1..65535");
    }
    url.port = static_cast<uint16_t>(*port);
  }
  return url;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string Response::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return value;
    }
  }
  return "";
}

class HttpClient::Impl {
 public:
  explicit Impl(const ClientOptions& options) : options_(options), resolver_(ioc_) {}

  Status Connect();
  void Close();
  bool connected() const { return stream_.has_value(); }
  Result<Response> Send(http::verb verb, std::string_view target, std::string_view body,
                        const Headers& headers);

  int64_t connections_opened = 0;
  int64_t retries = 0;

 private:
  // Runs the queued asynchronous operations to completion (the stream's timer bounds them).
  void RunAll() {
    ioc_.restart();
    ioc_.run();
  }
  // One request/response exchange on the open connection. `got_bytes` tells whether any byte
  // of the response arrived.
  beast::error_code Exchange(http::request<http::string_body>& req, Response* out, bool* got_bytes,
                             bool* keep_alive);

  const ClientOptions& options_;
  net::io_context ioc_;
  tcp::resolver resolver_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

Status HttpClient::Impl::Connect() {
  if (stream_) {
    return Status::Ok();
  }
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
  resolver_.async_resolve(options_.host, std::to_string(options_.port),
                          [&](beast::error_code e, tcp::resolver::results_type results) {
                            ec = e;
                            endpoints = std::move(results);
                          });
  RunAll();
  if (ec) {
    return Status::Unavailable("http client: cannot resolve " + where + ": " + ec.message());
  }
  stream_.emplace(ioc_);
  stream_->expires_after(std::chrono::milliseconds(options_.connect_timeout_ms));
  stream_->async_connect(endpoints,
                         [&](beast::error_code e, const tcp::endpoint& /*ep*/) { ec = e; });
  RunAll();
  if (ec) {
    stream_.reset();
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded("http client: connecting to " + where + " timed out after " +
                                      std::to_string(options_.connect_timeout_ms) + " ms");
    }
    return Status::Unavailable("http client: cannot connect to " + where + ": " + ec.message());
  }
  beast::error_code ignored;
  stream_->socket().set_option(tcp::no_delay(true), ignored);
  buffer_.clear();
  ++connections_opened;
  return Status::Ok();
}

void HttpClient::Impl::Close() {
  if (!stream_) {
    return;
  }
  beast::error_code ec;
  stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_->socket().close(ec);
  stream_.reset();
  buffer_.clear();
}

beast::error_code HttpClient::Impl::Exchange(http::request<http::string_body>& req, Response* out,
                                             bool* got_bytes, bool* keep_alive) {
  *got_bytes = false;
  beast::error_code ec;
  stream_->expires_after(std::chrono::milliseconds(options_.request_timeout_ms));
  http::async_write(*stream_, req, [&](beast::error_code e, size_t /*n*/) { ec = e; });
  RunAll();
  if (ec) {
    return ec;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  parser.header_limit(64u << 10);
  http::async_read_header(*stream_, buffer_, parser,
                          [&](beast::error_code e, size_t /*n*/) { ec = e; });
  RunAll();
  *got_bytes = parser.got_some();
  if (ec) {
    return ec;
  }
  // A declared length over the limit fails before any of the body is read.
  if (parser.content_length().has_value() &&
      *parser.content_length() > options_.max_response_bytes) {
    return http::error::body_limit;
  }
  if (!parser.is_done()) {
    http::async_read(*stream_, buffer_, parser, [&](beast::error_code e, size_t /*n*/) { ec = e; });
    RunAll();
    if (ec) {
      return ec;
    }
  }
  stream_->expires_never();
  http::response<http::string_body> res = parser.release();
  out->status = static_cast<int>(res.result_int());
  out->headers.clear();
  for (const auto& field : res) {
    const beast::string_view name = field.name_string();
    const beast::string_view value = field.value();
    out->headers.emplace_back(std::string(name.data(), name.size()),
                              std::string(value.data(), value.size()));
  }
  *keep_alive = res.keep_alive();
  out->body = std::move(res.body());
  return ec;
}

Result<Response> HttpClient::Impl::Send(http::verb verb, std::string_view target,
                                        std::string_view body, const Headers& headers) {
  http::request<http::string_body> req{verb, beast::string_view(target.data(), target.size()), 11};
  req.set(http::field::host, options_.host + ":" + std::to_string(options_.port));
  req.set(http::field::user_agent, options_.user_agent);
  req.keep_alive(true);
  if (!options_.bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + options_.bearer_token);
  }
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    req.set(beast::string_view(name), value);
    has_content_type = has_content_type || EqualsIgnoreCase(name, "content-type");
  }
  if (!body.empty() && !has_content_type) {
    req.set(http::field::content_type, "application/json");
  }
  req.body() = std::string(body);
  req.prepare_payload();

  const bool may_retry = IsIdempotent(verb) || options_.retry_non_idempotent;
  bool fresh = !stream_.has_value();
  FLYWHEEL_RETURN_IF_ERROR(Connect());
  const beast::string_view verb_name = http::to_string(verb);
  std::string what(verb_name.data(), verb_name.size());
  what.append(" ").append(target);
  for (int attempt = 0;; ++attempt) {
    Response out;
    bool got_bytes = false;
    bool keep_alive = true;
    const beast::error_code ec = Exchange(req, &out, &got_bytes, &keep_alive);
    if (!ec) {
      if (!keep_alive) {
        Close();
      }
      return out;
    }
    Close();
    if (attempt == 0 && !fresh && !got_bytes && may_retry && IsConnectionLost(ec)) {
      // The server closed the kept-alive connection before reading this request.
      ++retries;
      fresh = true;
      FLYWHEEL_RETURN_IF_ERROR(Connect());
      continue;
    }
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded("http client: " + what + ": no complete response within " +
                                      std::to_string(options_.request_timeout_ms) + " ms");
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      return Status::ResourceExhausted("http client: " + what + ": response larger than " +
                                       std::to_string(options_.max_response_bytes) + " bytes");
    }
    return Status::Unavailable("http client: " + what + ": " + ec.message());
  }
}

HttpClient::HttpClient(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

HttpClient::~HttpClient() {
  impl_->Close();
}

Result<Response> HttpClient::Send(std::string_view method, std::string_view target,
                                  std::string_view body, const Headers& headers) {
  const http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    return Status::InvalidArgument("http client: unknown method '" + std::string(method) + "'");
  }
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("http client: target must start with '/', got '" +
                                   std::string(target) + "'");
  }
  return impl_->Send(verb, target, body, headers);
}

Status HttpClient::Connect() {
  return impl_->Connect();
}
void HttpClient::Close() {
  impl_->Close();
}
bool HttpClient::connected() const {
  return impl_->connected();
}
int64_t HttpClient::connections_opened() const {
  return impl_->connections_opened;
}
int64_t HttpClient::retries() const {
  return impl_->retries;
}

}  // namespace flywheel::client
