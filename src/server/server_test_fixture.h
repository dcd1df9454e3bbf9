// Test-only helpers for the HTTP server tests: a fixture that starts a real HttpServer + Api over
// an Engine in a temporary directory on an ephemeral loopback port, a Beast client for well-formed
// requests and a raw-socket client for hostile ones (partial writes, trickling, pipelining).
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "server/api.h"
#include "server/http_server.h"
#include "testing/status_matchers.h"

namespace flywheel::server::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

struct Reply {
  int status = 0;
  json body;                                   // discarded when the body is not JSON
  std::string text;                            // the raw body
  std::map<std::string, std::string> headers;  // lower-case names
};

// A keep-alive client over one connection, for well-formed requests.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    net::ip::tcp::resolver resolver(ioc_);
    stream_.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  }
  Reply Send(http::verb verb, const std::string& target, const std::string& body = "",
             const std::string& key = "",
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!key.empty()) {
      req.set(http::field::authorization, "Bearer " + key);
    }
    for (const auto& [name, value] : headers) {
      req.set(name, value);
    }
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream_, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream_, buffer, res);
    Reply reply;
    reply.status = res.result_int();
    reply.text = res.body();
    reply.body = json::parse(res.body(), nullptr, false);
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      reply.headers[name] = std::string(field.value());
    }
    return reply;
  }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
};

// A plain blocking socket for hostile clients: every read waits at most `timeout_ms`.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawConnection() { Close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // False once the peer closed or reset the connection.
  bool Write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads one response (the server always sends Content-Length). status 0: the connection was
  // closed, reset or silent for `timeout_ms` before a whole response arrived.
  Reply ReadResponse(int timeout_ms = 10'000) {
    Reply reply;
    size_t header_end = std::string::npos;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(timeout_ms)) {
        return reply;
      }
    }
    const std::string head = pending_.substr(0, header_end);
    size_t length = 0;
    size_t line_start = head.find("\r\n");
    while (line_start != std::string::npos) {
      const size_t next = head.find("\r\n", line_start + 2);
      const std::string line = head.substr(line_start + 2, next - line_start - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[name] = value;
        if (name == "content-length") {
          length = std::stoul(value);
        }
      }
      line_start = next;
    }
    while (pending_.size() < header_end + 4 + length) {
      if (!Fill(timeout_ms)) {
        return reply;
      }
    }
    reply.status = std::atoi(head.substr(9, 3).c_str());
    reply.text = pending_.substr(header_end + 4, length);
    reply.body = json::parse(reply.text, nullptr, false);
    pending_.erase(0, header_end + 4 + length);
    return reply;
  }
  // True when the server closes (or resets) the connection within `timeout_ms`; bytes it sends
  // before closing are kept for ReadResponse.
  bool ClosedByPeerWithin(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
      if (!Fill(std::max(left, 1)) && peer_closed_) {
        return true;
      }
    }
    return false;
  }
  const std::string& pending() const { return pending_; }

 private:
  // Appends what arrives within `timeout_ms`; false on timeout, close or reset.
  bool Fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      return false;
    }
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      peer_closed_ = true;
      return false;
    }
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  bool peer_closed_ = false;
  std::string pending_;
};

// `n` valid view events over 7 users and 11 items, ids e<first>..e<first+n-1>.
inline std::string EventsBody(int n, int first = 0) {
  json events = json::array();
  for (int i = first; i < first + n; ++i) {
    events.push_back({{"user", "u" + std::to_string(i % 7)},
                      {"item", "i" + std::to_string(i % 11)},
                      {"type", "view"},
                      {"ts", 1700000000000LL + i},
                      {"id", "e" + std::to_string(i)}});
  }
  return json{{"events", events}}.dump();
}

// Resident set size of this process in KiB (VmRSS of /proc/self/status).
inline long ResidentKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atol(line.c_str() + 6);
    }
  }
  return -1;
}

// A real server (HttpServer + Api) over an Engine (models pop, itemknn) in a temporary directory,
// listening on an ephemeral loopback port.
class ServerFixture : public ::testing::Test {
 protected:
  // The Api has no engine until SetEngine (readyz 503); StartReady sets it.
  void StartServer(ApiKeys keys, ServerOptions options = {}, ApiLimits limits = {}) {
    EngineOptions eo;
    eo.data_dir = dir_.path();
    eo.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
    eo.event_types = event_types_;
    auto engine = Engine::Open(eo);
    ASSERT_OK(engine.status());
    engine_ = std::move(engine).value();
    api_ = std::make_unique<Api>(std::move(keys), limits);
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = HttpServer::Start(
        options, [this](const Request& r) { return api_->Handle(r); },
        [this](const RequestHeader& h, const Peer& p) { return api_->Admit(h, p); });
    ASSERT_OK(server.status());
    server_ = std::move(server).value();
  }
  void StartReady(ApiKeys keys = {}, ServerOptions options = {}, ApiLimits limits = {}) {
    StartServer(std::move(keys), options, limits);
    if (api_) {
      api_->SetEngine(engine_.get());
    }
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
    }
  }
  uint16_t port() const { return server_->port(); }
  // The engine's --event-types (set before StartServer/StartReady).
  std::string event_types_;
  // A fresh connection answers /healthz with 200.
  bool Alive() {
    RawConnection c(port());
    if (!c.connected() || !c.Write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) {
      return false;
    }
    return c.ReadResponse().status == 200;
  }
  // Waits (generous bound) until the freshness histogram counts `n` events: the learner
  // publishes applied_seq before it records the last event's freshness.
  bool WaitForFreshness(uint64_t n, int timeout_ms = 10'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (engine_->stats().freshness_count < n) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  // Waits (generous bound) until the server counts `n` open connections.
  bool WaitForConnections(int n, int timeout_ms = 10'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (server_->open_connections() != n) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  ::flywheel::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace flywheel::server::test
