#include "server/http_server.h"

#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <nlohmann/json.hpp>

#include "base/mutex.h"
#include "base/thread_annotations.h"

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
  Impl(ServerOptions options, Handler handler, Admit admit)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        admit_(std::move(admit)),
        ioc_(options_.threads),
        acceptor_(net::make_strand(ioc_)),
        backoff_(acceptor_.get_executor()) {}

  Status Listen();
  void Run();
  void Stop();

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  const Admit& admit() const { return admit_; }
  std::atomic<int>& connections() { return connections_; }
  uint16_t port() const { return port_; }
  uint64_t body_bytes_in_flight() const { return body_bytes_.load(); }
  uint64_t accept_backoffs() const { return accept_backoffs_.load(); }

  // The server-wide body budget: false (nothing reserved) when `bytes` do not fit.
  bool ReserveBody(uint64_t bytes) {
    uint64_t now = body_bytes_.load();
    do {
      if (bytes >
          options_.max_body_bytes_in_flight - std::min(now, options_.max_body_bytes_in_flight)) {
        return false;
      }
    } while (!body_bytes_.compare_exchange_weak(now, now + bytes));
    return true;
  }
  void ReleaseBody(uint64_t bytes) { body_bytes_.fetch_sub(bytes); }

  // Connections waiting for their next request on a kept-alive connection, oldest first: each
  // registers a closer while idle. Returns the registration's id (for RemoveIdle).
  uint64_t AddIdle(std::function<void()> closer) EXCLUDES(idle_mu_) {
    base::MutexLock lock(&idle_mu_);
    const uint64_t id = next_idle_++;
    idle_.emplace(id, std::move(closer));
    return id;
  }
  void RemoveIdle(uint64_t id) EXCLUDES(idle_mu_) {
    base::MutexLock lock(&idle_mu_);
    idle_.erase(id);
  }

 private:
  void Accept();
  void OnAcceptError(beast::error_code ec);
  void CloseOldestIdle() EXCLUDES(idle_mu_);

  // Declared before ioc_: sessions still queued in ioc_ touch them when ioc_ destroys them.
  std::atomic<int> connections_{0};
  std::atomic<uint64_t> body_bytes_{0};
  base::Mutex idle_mu_;
  std::map<uint64_t, std::function<void()>> idle_ GUARDED_BY(idle_mu_);
  uint64_t next_idle_ GUARDED_BY(idle_mu_) = 1;
  std::atomic<uint64_t> accept_backoffs_{0};
  const ServerOptions options_;
  const Handler handler_;
  const Admit admit_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;  // on the acceptor's strand
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::once_flag stopped_;
};

namespace {

bool IsLoopback(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return address.is_loopback();
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  static constexpr size_t kFirstReadBytes = 4096;

  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    server_->connections().fetch_add(1);
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_.ip = remote.address().to_string();
      peer_.loopback = IsLoopback(remote.address());
    }
  }
  ~Session() {
    ReleaseBody();
    SetIdle(false);
    server_->connections().fetch_sub(1);
  }
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
    // Between requests the buffer holds nothing: give its memory back (it grew to the largest
    // read) while the connection idles.
    buffer_.shrink_to_fit();
    // Waiting for the next request on a kept-alive connection: the idle limit, until its first
    // bytes arrive. Idle, the connection may be closed to free its descriptor (out of fds).
    SetIdle(true);
    stream_.expires_after(std::chrono::milliseconds(server_->options().idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
  }

  void OnFirstBytes(beast::error_code ec, size_t bytes) {
    SetIdle(false);
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

  // The header is in; no body byte has been consumed beyond what arrived with it. Admission
  // (auth, rate limits), the route's body limit and the body budget decide before the body is
  // read.
  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      return Fail(ec);
    }
    const ServerOptions& options = server_->options();
    Admission admission{std::nullopt, options.max_body_bytes};
    if (server_->admit()) {
      admission = server_->admit()(parser_->get(), peer_);
    }
    if (admission.reject) {
      return Reject(std::make_shared<Response>(std::move(*admission.reject)));
    }
    if (!parser_->is_done()) {
      const uint64_t limit = std::min(admission.max_body_bytes, options.max_body_bytes);
      const boost::optional<uint64_t> length = parser_->content_length();
      if (length && *length > limit) {
        return Reject(std::make_shared<Response>(ErrorResponse(
            parser_->get().version(), http::status::payload_too_large, "payload_too_large",
            "body of " + std::to_string(*length) + " bytes; this route takes at most " +
                std::to_string(limit))));
      }
      const uint64_t reserve = length ? *length : limit;  // chunked: up to the limit
      if (!server_->ReserveBody(reserve)) {
        auto res = std::make_shared<Response>(
            ErrorResponse(parser_->get().version(), http::status::service_unavailable,
                          "unavailable", "too many request bodies in flight; retry later"));
        res->set(http::field::retry_after, "1");
        return Reject(std::move(res));
      }
      reserved_ = reserve;
      parser_->body_limit(limit);
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      return Fail(ec);
    }
    std::shared_ptr<Response> res;
    bool close = false;
    {
      Request req = parser_->release();
      res = std::make_shared<Response>(server_->handler()(req));
      res->prepare_payload();  // Content-Length first: need_eof() is true without it
      close = !req.keep_alive() || res->need_eof();
    }  // the body's memory is gone: give its reservation back
    ReleaseBody();
    res->keep_alive(!close);
    Send(std::move(res), close);
  }

  // Answers a request whose body was not read: the connection stays open only when there was
  // no body to skip.
  void Reject(std::shared_ptr<Response> res) {
    res->prepare_payload();
    const bool close = !parser_->is_done() || !parser_->get().keep_alive();
    res->keep_alive(!close);
    Send(std::move(res), close);
  }

  void Fail(beast::error_code ec) {
    ReleaseBody();
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
    SetIdle(false);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  void ReleaseBody() {
    if (reserved_ > 0) {
      server_->ReleaseBody(reserved_);
      reserved_ = 0;
    }
  }

  // Registers (or removes) this connection as idle; the closer runs on its strand.
  void SetIdle(bool idle) {
    if (idle_id_ != 0) {
      server_->RemoveIdle(idle_id_);
      idle_id_ = 0;
    }
    if (idle) {
      idle_id_ = server_->AddIdle([weak = weak_from_this()] {
        if (std::shared_ptr<Session> self = weak.lock()) {
          net::post(self->stream_.get_executor(), [self] { self->Close(); });
        }
      });
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  HttpServer::Impl* server_;
  Peer peer_;
  uint64_t reserved_ = 0;  // body bytes reserved in the server's budget
  uint64_t idle_id_ = 0;   // registration as idle (0: not idle)
};

}  // namespace

Status HttpServer::Impl::Listen() {
  beast::error_code ec;
  // A literal address, or a name ("localhost") and each of its addresses in turn until one
  // can be listened on (a name may resolve to ::1 on a host without IPv6).
  std::vector<tcp::endpoint> endpoints;
  const net::ip::address literal = net::ip::make_address(options_.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, options_.port);
  } else {
    tcp::resolver resolver(ioc_);
    const auto results =
        resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("serve: bad host '" + options_.host +
                                     "': " + (ec ? ec.message() : "no address"));
    }
    for (const auto& result : results) {
      endpoints.push_back(result.endpoint());
    }
  }
  for (const tcp::endpoint& endpoint : endpoints) {
    ec = {};
    beast::error_code ignored;
    acceptor_.close(ignored);
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
    if (!ec) {
      port_ = acceptor_.local_endpoint().port();
      return Status::Ok();
    }
  }
  return Status::Unavailable("serve: cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + ec.message());
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      return OnAcceptError(ec);
    }
    const bool over = connections_.load() >= options_.max_connections;
    std::make_shared<Session>(std::move(socket), this)->Start(over);
    Accept();
  });
}

// Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), accepting again at
// once fails again at once: the loop would spin on one core while the pending client waits.
// Back off instead, and free a descriptor held by an idle kept-alive connection.
void HttpServer::Impl::OnAcceptError(beast::error_code ec) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
    return;  // stopped
  }
  const int e = ec.value();
  if (ec.category() != boost::system::system_category() ||
      (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)) {
    return Accept();  // a client gone before accept (ECONNABORTED) and the like
  }
  accept_backoffs_.fetch_add(1);
  CloseOldestIdle();
  backoff_.expires_after(std::chrono::milliseconds(options_.accept_backoff_ms));
  backoff_.async_wait([this](beast::error_code wait_ec) {
    if (!wait_ec) {
      Accept();
    }
  });
}

void HttpServer::Impl::CloseOldestIdle() {
  std::function<void()> closer;
  {
    base::MutexLock lock(&idle_mu_);
    if (idle_.empty()) {
      return;
    }
    closer = std::move(idle_.begin()->second);
    idle_.erase(idle_.begin());
  }
  closer();
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
      backoff_.cancel();
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

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options, Handler handler,
                                                      Admit admit) {
  if (options.threads < 1 || options.max_connections < 1 || options.accept_backoff_ms < 1) {
    return Status::InvalidArgument(
        "serve: threads, max_connections and accept_backoff_ms must be >= 1");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler), std::move(admit));
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
uint64_t HttpServer::body_bytes_in_flight() const {
  return impl_->body_bytes_in_flight();
}
uint64_t HttpServer::accept_backoffs() const {
  return impl_->accept_backoffs();
}
void HttpServer::Stop() {
  impl_->Stop();
}

}  // namespace flywheel::server
