// The server's edge under abuse (issue 17, item 3 and "Abuse limits"): authentication and rate
// limits are decided from the header before any body byte is read, a body announced larger
// than its route takes is refused unread, and request bodies in flight share one server-wide
// budget (503 + Retry-After beyond). Timeouts in here are generous upper bounds, never timings.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using test::Client;
using test::EventsBody;
using test::RawConnection;
using test::Reply;
using ::testing::HasSubstr;

constexpr int kGenerousMs = 10'000;

class EdgeLimitsTest : public test::ServerFixture {
 protected:
  // Waits (generous bound) until the server holds `bytes` of request bodies in flight.
  bool WaitForBodyBytes(uint64_t bytes) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kGenerousMs);
    while (server_->body_bytes_in_flight() != bytes) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  // The header of POST /v1/events announcing `length` body bytes, with `key` unless empty.
  static std::string PostHeader(uint64_t length, const std::string& key = "") {
    std::string head = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    if (!key.empty()) {
      head += "Authorization: Bearer " + key + "\r\n";
    }
    return head + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
  }
  // EventsBody(1) padded with spaces (valid JSON) to `size` bytes.
  static std::string PaddedEvents(size_t size) {
    std::string body = EventsBody(1);
    body.resize(std::max(size, body.size()), ' ');
    return body;
  }
};

// Issue 17, item 3: an 8 MiB body was buffered before the key was checked. Now the 401/403
// comes from the header alone, while the client has not sent a byte of its body, and no
// memory is reserved for it.
TEST_F(EdgeLimitsTest, AuthenticationIsDecidedBeforeAnyBodyByteIsRead) {
  StartReady(ApiKeys{"rk", "wk", "ak"});
  for (const std::string key : {"", "wrong", "rk"}) {
    RawConnection c(port());
    ASSERT_TRUE(c.Write(PostHeader(8u << 20, key)));
    Reply r = c.ReadResponse(kGenerousMs);
    EXPECT_EQ(r.status, key == "rk" ? 403 : 401) << key;
    EXPECT_EQ(r.body["code"], key == "rk" ? "permission_denied" : "unauthenticated") << key;
    EXPECT_FALSE(r.headers["x-request-id"].empty());
    // The unread body cannot be skipped: the connection is closed after the answer.
    EXPECT_TRUE(c.ClosedByPeerWithin(kGenerousMs)) << key;
    EXPECT_EQ(server_->body_bytes_in_flight(), 0u);
  }
  // The write key is admitted: its announced body is reserved until the handler returned.
  const std::string body = EventsBody(3);
  RawConnection c(port());
  ASSERT_TRUE(c.Write(PostHeader(body.size(), "wk")));
  ASSERT_TRUE(WaitForBodyBytes(body.size()));
  ASSERT_TRUE(c.Write(body));
  Reply r = c.ReadResponse(kGenerousMs);
  EXPECT_EQ(r.status, 202) << r.text;
  EXPECT_TRUE(WaitForBodyBytes(0));
  // The refusals were counted like every other request.
  Client stats(port());
  Reply s = stats.Send(http::verb::get, "/metrics");
  EXPECT_THAT(s.text, HasSubstr("route=\"events\""));
}

TEST_F(EdgeLimitsTest, ARouteThatReadsNoBodyRefusesOneUnread) {
  StartReady();
  RawConnection c(port());
  ASSERT_TRUE(c.Write("GET /v1/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"));
  Reply r = c.ReadResponse(kGenerousMs);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body["code"], "payload_too_large");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("takes at most 0"));
  EXPECT_TRUE(c.ClosedByPeerWithin(kGenerousMs));
  // Content-Length: 0 is no body; the connection stays open for the next request.
  RawConnection ok(port());
  ASSERT_TRUE(ok.Write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(ok.ReadResponse(kGenerousMs).status, 200);
  ASSERT_TRUE(ok.Write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(ok.ReadResponse(kGenerousMs).status, 200);
  // Unknown paths answer 404 from the header too.
  RawConnection missing(port());
  ASSERT_TRUE(
      missing.Write("POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n"));
  EXPECT_EQ(missing.ReadResponse(kGenerousMs).status, 404);
}

TEST_F(EdgeLimitsTest, BodiesBeyondTheServerWideBudgetGet503WithRetryAfterUnread) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  options.max_body_bytes_in_flight = 100 << 10;
  StartReady({}, options);
  const std::string body = PaddedEvents(60 << 10);
  // A holds 60 KiB of the 100 KiB budget while its body trickles in.
  RawConnection a(port());
  ASSERT_TRUE(a.Write(PostHeader(body.size())));
  ASSERT_TRUE(WaitForBodyBytes(body.size()));
  // B's 60 KiB do not fit: 503 at once, its body never read.
  RawConnection b(port());
  ASSERT_TRUE(b.Write(PostHeader(body.size())));
  Reply r = b.ReadResponse(kGenerousMs);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["code"], "unavailable");
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_TRUE(b.ClosedByPeerWithin(kGenerousMs));
  // A chunked body reserves its route's limit (64 KiB): no room either.
  RawConnection chunked(port());
  ASSERT_TRUE(
      chunked.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(chunked.ReadResponse(kGenerousMs).status, 503);
  // Requests without a body are served meanwhile.
  EXPECT_TRUE(Alive());
  EXPECT_EQ(server_->body_bytes_in_flight(), body.size());
  // A finishes; its reservation goes back and B's retry is accepted.
  ASSERT_TRUE(a.Write(body));
  EXPECT_EQ(a.ReadResponse(kGenerousMs).status, 202);
  ASSERT_TRUE(WaitForBodyBytes(0));
  Client retry(port());
  EXPECT_EQ(retry.Send(http::verb::post, "/v1/events", body).status, 202);
  // A client that disconnects mid-body gives its reservation back too.
  {
    RawConnection gone(port());
    ASSERT_TRUE(gone.Write(PostHeader(body.size()) + body.substr(0, 1000)));
    ASSERT_TRUE(WaitForBodyBytes(body.size()));
  }
  EXPECT_TRUE(WaitForBodyBytes(0));
}

TEST_F(EdgeLimitsTest, PerKeyRateLimitAnswers429WithRetryAfter) {
  ApiLimits limits;
  limits.key_rate = RateLimit{0.5, 2};  // a token every 2 s: none comes back during the test
  StartReady(ApiKeys{"rk", "wk", "ak"}, {}, limits);
  Client c(port());
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "rk").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "rk").status, 200);
  Reply r = c.Send(http::verb::get, "/v1/stats", "", "rk");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["code"], "rate_limited");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("the read key"));
  const int retry_after = std::stoi(r.headers["retry-after"]);
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 2);
  // Same keep-alive connection, another key: its own bucket.
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "wk").status, 200);
  // A limited write is refused before its body is read.
  RawConnection w(port());
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "wk").status, 200);
  ASSERT_TRUE(w.Write(PostHeader(8u << 20, "wk")));
  EXPECT_EQ(w.ReadResponse(kGenerousMs).status, 429);
  EXPECT_EQ(server_->body_bytes_in_flight(), 0u);
  EXPECT_EQ(api_->rate_limited(), 2u);
  EXPECT_THAT(Client(port()).Send(http::verb::get, "/metrics").text,
              HasSubstr("flywheel_http_rate_limited_total 2\n"));
  // Open routes from loopback are not limited by address.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Alive());
  }
}

// The per-address limit applies to requests without a valid key from other than loopback
// (Admit is called with the peer the server saw).
TEST_F(EdgeLimitsTest, PerAddressRateLimitForRequestsWithoutAValidKey) {
  ApiLimits limits;
  limits.ip_rate = RateLimit{0.5, 2};
  StartReady(ApiKeys{"rk", "wk", "ak"}, {}, limits);
  auto header = [](const std::string& target, const std::string& key) {
    RequestHeader h;
    h.method(http::verb::get);
    h.target(target);
    h.version(11);
    if (!key.empty()) {
      h.set(http::field::authorization, "Bearer " + key);
    }
    return h;
  };
  const Peer remote{"203.0.113.9", false};
  const Peer other{"198.51.100.7", false};
  // Failed authentication spends the address's tokens: 401, 401, then 429.
  EXPECT_EQ(api_->Admit(header("/v1/stats", "guess1"), remote).reject->result_int(), 401);
  EXPECT_EQ(api_->Admit(header("/v1/stats", ""), remote).reject->result_int(), 401);
  Admission limited = api_->Admit(header("/healthz", ""), remote);
  ASSERT_TRUE(limited.reject.has_value());
  EXPECT_EQ(limited.reject->result_int(), 429);
  EXPECT_FALSE(limited.reject->at(http::field::retry_after).empty());
  // A valid key from the same address is limited by its key, not the address.
  EXPECT_FALSE(api_->Admit(header("/v1/stats", "rk"), remote).reject.has_value());
  // Another address, and loopback, have their own (or no) limits.
  EXPECT_FALSE(api_->Admit(header("/healthz", ""), other).reject.has_value());
  EXPECT_FALSE(api_->Admit(header("/healthz", ""), Peer{"127.0.0.1", true}).reject.has_value());
  // Admitted routes report their body limit: 0 for routes that read none.
  EXPECT_EQ(api_->Admit(header("/healthz", ""), other).max_body_bytes, 0u);
}

// Issue 17, item 10: `--host localhost` failed ("bad host"); names are resolved now.
TEST(HttpServerHostTest, ListensOnAHostName) {
  ServerOptions options;
  options.host = "localhost";
  options.port = 0;
  auto server = HttpServer::Start(options, [](const Request& r) {
    Response res{http::status::ok, r.version()};
    res.body() = "hi";
    return res;
  });
  ASSERT_OK(server.status());
  EXPECT_EQ((*server)->address(), "localhost:" + std::to_string((*server)->port()));
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  net::ip::tcp::resolver resolver(ioc);
  stream.connect(resolver.resolve("localhost", std::to_string((*server)->port())));
  http::request<http::string_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "localhost");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.body(), "hi");
}

}  // namespace
}  // namespace flywheel::server
