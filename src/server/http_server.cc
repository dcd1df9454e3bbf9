#include "server/http_server.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>

namespace flywheel::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

Response ErrorResponse(unsigned version, http::status http_status, const std::string& code,
                       const std::string& message, const std::string& field) {
  Response res{http_status, version};
  res.set(http::field::content_type, "application/json");
  nlohmann::json body = {{"code", code}, {"message", message}};
  body["field"] = field.empty() ? nlohmann::json(nullptr) : nlohmann::json(field);
  // Messages may quote request bytes that are not UTF-8: replaced, never a throw.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        ioc_(options_.threads),
        acceptor_(net::make_strand(ioc_)) {}

  Status Listen();
  void Run();
  void Stop();

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  std::atomic<int>& connections() { return connections_; }
  uint16_t port() const { return port_; }

 private:
  void Accept();

  // Declared before ioc_: sessions still queued in ioc_ touch it when ioc_ destroys them.
  std::atomic<int> connections_{0};
  const ServerOptions options_;
  const Handler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::once_flag stopped_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  static constexpr size_t kFirstReadBytes = 4096;

  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    server_->connections().fetch_add(1);
  }
  ~Session() { server_->connections().fetch_sub(1); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void Start(bool over_capacity) {
    if (over_capacity) {
      auto res = std::make_shared<Response>(ErrorResponse(
          11, http::status::service_unavailable, "unavailable", "too many open connections"));
      res->keep_alive(false);
      Send(std::move(res), /*close=*/true);
      return;
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options().max_body_bytes);
    parser_->header_limit(server_->options().max_header_bytes);
    if (buffer_.size() > 0) {  // a pipelined request already started
      return ReadHeader();
    }
    // Waiting for the next request on a kept-alive connection: the idle limit, until its first
    // bytes arrive.
    stream_.expires_after(std::chrono::milliseconds(server_->options().idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, size_t bytes) {
    if (ec) {
      return Fail(ec);
    }
    buffer_.commit(bytes);
    ReadHeader();
  }

  // From the request's first byte, the whole request (header and body) must arrive within the
  // request limit: one deadline, not renewed by each byte or between header and body, so a
  // client trickling bytes (slowloris) is cut off.
  void ReadHeader() {
    stream_.expires_after(std::chrono::milliseconds(server_->options().request_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      return Fail(ec);
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      return Fail(ec);
    }
    Request req = parser_->release();
    auto res = std::make_shared<Response>(server_->handler()(req));
    res->prepare_payload();  // Content-Length first: need_eof() is true without it
    const bool close = !req.keep_alive() || res->need_eof();
    res->keep_alive(!close);
    Send(std::move(res), close);
  }

  void Fail(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      // Idle or slow request: tcp_stream closed the socket when the deadline expired, so no
      // response (408) can be sent any more.
      return Close();
    }
    http::status status = http::status::bad_request;
    std::string code = "invalid_argument";
    std::string message = "malformed HTTP request: " + ec.message();
    if (ec == http::error::body_limit) {
      status = http::status::payload_too_large;
      code = "payload_too_large";
      message = "body larger than " + std::to_string(server_->options().max_body_bytes) + " bytes";
    } else if (ec == http::error::header_limit) {
      status = http::status::request_header_fields_too_large;
      code = "payload_too_large";
      message = "header block larger than " + std::to_string(server_->options().max_header_bytes) +
                " bytes";
    }
    auto res = std::make_shared<Response>(ErrorResponse(11, status, code, message));
    res->keep_alive(false);
    Send(std::move(res), /*close=*/true);
  }

  void Send(std::shared_ptr<Response> res, bool close) {
    res_ = std::move(res);
    stream_.expires_after(std::chrono::milliseconds(server_->options().request_timeout_ms));
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(), close));
  }

  void OnWrite(bool close, beast::error_code ec, size_t /*bytes*/) {
    res_.reset();
    if (ec || close) {
      return Close();
    }
    Read();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  HttpServer::Impl* server_;
};

}  // namespace

Status HttpServer::Impl::Listen() {
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options_.host, ec);
  if (ec) {
    return Status::InvalidArgument("serve: bad host '" + options_.host + "': " + ec.message());
  }
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::Unavailable("serve: cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) {
        return;  // stopped
      }
    } else {
      const bool over = connections_.load() >= options_.max_connections;
      std::make_shared<Session>(std::move(socket), this)->Start(over);
    }
    Accept();
  });
}

void HttpServer::Impl::Run() {
  Accept();
  threads_.reserve(static_cast<size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
}

void HttpServer::Impl::Stop() {
  std::call_once(stopped_, [this] {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (std::thread& t : threads_) {
      t.join();
    }
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() {
  impl_->Stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      Handler handler) {
  if (options.threads < 1 || options.max_connections < 1) {
    return Status::InvalidArgument("serve: threads and max_connections must be >= 1");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  FLYWHEEL_RETURN_IF_ERROR(impl->Listen());
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  return impl_->port();
}
std::string HttpServer::address() const {
  return impl_->options().host + ":" + std::to_string(impl_->port());
}
int HttpServer::open_connections() const {
  return impl_->connections().load();
}
void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace flywheel::server
