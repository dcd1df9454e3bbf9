// The HTTP side of a full disk (issue 17, item 5; doc/http_api.md, "Disk full"): /readyz says
// "failed" and why while writes fail, writes get 503 with Retry-After, reads keep working, and
// once space is freed /readyz turns ready and writes are accepted, without a restart. The disk
// is simulated by FaultInjectionEnv (the real binary on a real full tmpfs: tests/e2e).
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/fault_injection_env.h"
#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

using test::Client;
using test::EventsBody;
using test::Reply;
using ::testing::HasSubstr;
namespace http = boost::beast::http;

class DiskFullServerTest : public ::testing::Test {
 protected:
  void Start(int retry_ms) {
    EngineOptions eo;
    eo.data_dir = dir_.path();
    eo.env = &env_;
    eo.models = {ModelSpec{"pop", {}}};
    eo.disk_full_retry_ms = retry_ms;
    eo.snapshot_on_close = false;
    auto engine = Engine::Open(eo);
    ASSERT_OK(engine.status());
    engine_ = std::move(engine).value();
    api_ = std::make_unique<Api>(ApiKeys{}, ApiLimits{});
    api_->SetEngine(engine_.get());
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = HttpServer::Start(options, [this](const Request& r) { return api_->Handle(r); });
    ASSERT_OK(server.status());
    server_ = std::move(server).value();
  }
  void TearDown() override {
    if (server_) {
      server_->Stop();
    }
  }

  flywheel::testing::TempDir dir_;
  io::FaultInjectionEnv env_{io::Env::Default()};
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(DiskFullServerTest, ReadyzFailsWritesGet503WithRetryAfterReadsGoOn) {
  Start(/*retry_ms=*/600'000);
  Client c(server_->port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  env_.SetSpaceLimit(1000);
  Reply r = c.Send(http::verb::post, "/v1/events", EventsBody(200, 50));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["code"], "unavailable");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("disk full"));
  ASSERT_TRUE(r.headers.count("retry-after"));
  EXPECT_GE(std::stoi(r.headers["retry-after"]), 590);
  // Every write route, within the back-off: 503 + Retry-After, no I/O.
  r = c.Send(http::verb::put, "/v1/items/x", R"({"title": "X"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.headers.count("retry-after"));
  r = c.Send(http::verb::post, "/v1/admin/snapshot");
  EXPECT_EQ(r.status, 503);
  r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["status"], "failed");
  EXPECT_EQ(r.body["reason"], "disk_full");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("no space left"));
  EXPECT_GE(r.body["retry_after_s"].get<int>(), 590);
  EXPECT_TRUE(r.headers.count("retry-after"));
  // Reads keep working; the refused batch is not there.
  ASSERT_OK(engine_->WaitForApplied(50, 30'000));
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u1/recommendations").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/healthz").status, 200);
  r = c.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["last_seq"], 50);
  EXPECT_EQ(r.body["writes"]["state"], "disk_full");
  EXPECT_GE(r.body["writes"]["retry_after_s"].get<int>(), 590);
  r = c.Send(http::verb::get, "/metrics");
  EXPECT_THAT(r.text, HasSubstr("flywheel_writes_available 0\n"));
  // A read answered 503 for another reason gets no Retry-After: only writes carry it.
  r = c.Send(http::verb::get, "/v1/users/u1/recommendations?model=nope");
  EXPECT_FALSE(r.headers.count("retry-after"));
}

TEST_F(DiskFullServerTest, FreeingSpaceMakesItReadyAgainWithoutARestart) {
  Start(/*retry_ms=*/0);
  Client c(server_->port());
  env_.SetSpaceLimit(1000);
  EXPECT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 503);
  EXPECT_EQ(c.Send(http::verb::get, "/readyz").status, 503);  // still full: the probe fails
  env_.SetSpaceLimit(UINT64_MAX);
  Reply r = c.Send(http::verb::get, "/readyz");  // re-checks: no write needed
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ready");
  r = c.Send(http::verb::post, "/v1/events", EventsBody(50));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body["last_seq"], 50);
}

TEST_F(DiskFullServerTest, AFatalLogErrorIsFailedWithoutRetryAfter) {
  Start(/*retry_ms=*/0);
  Client c(server_->port());
  env_.FailNthSync(1);
  EXPECT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(5)).status, 503);
  Reply r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["status"], "failed");
  EXPECT_EQ(r.body["reason"], "log_failed");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("fdatasync failed"));
  EXPECT_FALSE(r.headers.count("retry-after"));
  r = c.Send(http::verb::post, "/v1/events", EventsBody(5));
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.headers.count("retry-after"));
}

}  // namespace
}  // namespace flywheel::server
