// HttpClient against a real Flywheel server (src/server) on an ephemeral loopback port, plus a
// raw socket that never answers (timeouts).
#include "client/http_client.h"

#include <memory>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "server/api.h"
#include "server/http_server.h"
#include "testing/status_matchers.h"

namespace flywheel::client {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;

std::string EventsBody(int n, int first = 0) {
  json events = json::array();
  for (int i = first; i < first + n; ++i) {
    events.push_back({{"user", "u" + std::to_string(i % 5)},
                      {"item", "i" + std::to_string(i % 13)},
                      {"type", "click"},
                      {"ts", 1700000000000LL + i},
                      {"id", "e" + std::to_string(i)}});
  }
  return json{{"events", events}}.dump();
}

class HttpClientTest : public ::testing::Test {
 protected:
  void StartServer(server::ApiKeys keys = {}, server::ServerOptions options = {}) {
    EngineOptions eo;
    eo.data_dir = dir_.path();
    eo.models = {ModelSpec{"pop", {}}};
    auto engine = Engine::Open(eo);
    ASSERT_OK(engine.status());
    engine_ = std::move(engine).value();
    api_ = std::make_unique<server::Api>(keys, server::ApiLimits{});
    api_->SetEngine(engine_.get());
    options.port = 0;
    auto started = server::HttpServer::Start(
        options, [this](const server::Request& r) { return api_->Handle(r); });
    ASSERT_OK(started.status());
    server_ = std::move(started).value();
  }
  ClientOptions Options() const {
    ClientOptions o;
    o.port = server_->port();
    return o;
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
    }
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

TEST_F(HttpClientTest, PostsEventsAndReadsRecommendationsOnOneConnection) {
  StartServer();
  HttpClient client(Options());
  EXPECT_FALSE(client.connected());
  Result<Response> r = client.Post("/v1/events", EventsBody(20));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(json::parse(r->body)["accepted"], 20);
  EXPECT_FALSE(r->Header("x-request-id").empty());
  EXPECT_THAT(r->Header("Content-Type"), HasSubstr("application/json"));
  ASSERT_OK(engine_->WaitForApplied(20, 10000));
  r = client.Get("/v1/users/u1/recommendations?k=3");
  ASSERT_OK(r.status());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["items"].size(), 3u);
  r = client.Send("GET", "/v1/stats", "", {{"X-Request-Id", "mine"}});
  ASSERT_OK(r.status());
  EXPECT_EQ(r->Header("X-Request-Id"), "mine");
  EXPECT_EQ(json::parse(r->body)["events"], 20);
  r = client.Get("/nowhere");  // an HTTP error status is a response, not a Status error
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["code"], "not_found");
  EXPECT_EQ(client.connections_opened(), 1);  // keep-alive: one connection for everything
  EXPECT_EQ(server_->open_connections(), 1);
  EXPECT_EQ(client.retries(), 0);
}

TEST_F(HttpClientTest, SendsTheBearerToken) {
  StartServer(server::ApiKeys{"rk", "wk", ""});
  ClientOptions options = Options();
  HttpClient anonymous(options);
  Result<Response> r = anonymous.Get("/v1/stats");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 401);
  options.bearer_token = "rk";
  HttpClient reader(options);
  r = reader.Get("/v1/stats");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 200);
  r = reader.Post("/v1/events", EventsBody(1));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 403);
  options.bearer_token = "wk";
  HttpClient writer(options);
  r = writer.Post("/v1/events", EventsBody(1));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 202);
}

TEST_F(HttpClientTest, ReconnectsWhenTheServerClosedAnIdleConnection) {
  server::ServerOptions server_options;
  server_options.idle_timeout_ms = 50;
  StartServer({}, server_options);
  HttpClient client(Options());
  ASSERT_OK(client.Get("/healthz").status());
  // Wait until the server dropped the idle connection (a condition, not a timing assertion).
  while (server_->open_connections() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Result<Response> r = client.Get("/healthz");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(client.connections_opened(), 2);
  EXPECT_EQ(client.retries(), 1);
}

TEST_F(HttpClientTest, PostIsNotResentOnAStaleConnectionUnlessAllowed) {
  server::ServerOptions server_options;
  server_options.idle_timeout_ms = 50;
  StartServer({}, server_options);
  HttpClient client(Options());
  ASSERT_OK(client.Get("/healthz").status());
  while (server_->open_connections() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_THAT(client.Post("/v1/events", EventsBody(1)).status(),
              StatusIs(StatusCode::kUnavailable));
  ClientOptions options = Options();
  options.retry_non_idempotent = true;  // events carry ids: the server drops repeats
  HttpClient retrying(options);
  ASSERT_OK(retrying.Get("/healthz").status());
  while (server_->open_connections() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Result<Response> r = retrying.Post("/v1/events", EventsBody(1));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(retrying.retries(), 1);
}

TEST_F(HttpClientTest, ResponseSizeLimit) {
  StartServer();
  ClientOptions options = Options();
  options.max_response_bytes = 16;
  HttpClient client(options);
  EXPECT_THAT(client.Get("/metrics").status(), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_FALSE(client.connected());
  Result<Response> r = client.Get("/healthz");  // small enough; a fresh connection
  ASSERT_OK(r.status());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpClientErrorsTest, ConnectionRefusedIsUnavailable) {
  // Bind a port, then close it: nothing listens there.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  ClientOptions options;
  options.port = port;
  HttpClient client(options);
  EXPECT_THAT(client.Get("/healthz").status(), StatusIs(StatusCode::kUnavailable));
}

TEST(HttpClientErrorsTest, ServerThatNeverAnswersTimesOut) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  ClientOptions options;
  options.port = acceptor.local_endpoint().port();
  options.request_timeout_ms = 100;
  HttpClient client(options);  // connects through the listen backlog; nobody reads
  EXPECT_THAT(client.Get("/healthz").status(), StatusIs(StatusCode::kDeadlineExceeded));
  EXPECT_THAT(client.Send("BREW", "/pot", "").status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(client.Get("no-slash").status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(UrlTest, ParsesHostPortAndPrefix) {
  auto url = ParseUrl("http://127.0.0.1:8080");
  ASSERT_OK(url.status());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->prefix, "");
  url = ParseUrl("http://localhost/api/");
  ASSERT_OK(url.status());
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->prefix, "/api");
  url = ParseUrl("http://[::1]:9000/");
  ASSERT_OK(url.status());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_FALSE(ParseUrl("https://x:1").ok());
  EXPECT_FALSE(ParseUrl("http://:80").ok());
  EXPECT_FALSE(ParseUrl("http://h:0").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999").ok());
  EXPECT_EQ(UrlEncode("u 1/é"), "u%201%2F%C3%A9");
}

}  // namespace
}  // namespace flywheel::client
