// The HTTP API end to end over real sockets: a server on an ephemeral loopback port, a Beast
// client. Checks routes, status codes, error bodies, auth scopes and limits.
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/api.h"
#include "server/http_server.h"
#include "server/server_test_fixture.h"
#include "testing/status_matchers.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using ::testing::HasSubstr;

using ServerTest = test::ServerFixture;
using test::Client;
using test::EventsBody;
using test::Reply;

TEST_F(ServerTest, ReadyOnlyOnceTheEngineIsSet) {
  StartServer({});
  Client c(server_->port());
  EXPECT_EQ(c.Send(http::verb::get, "/healthz").status, 200);
  Reply r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body["status"], "recovering");
  EXPECT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(1)).status, 503);
  api_->SetEngine(engine_.get());
  r = c.Send(http::verb::get, "/readyz");  // same keep-alive connection
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "ready");
}

TEST_F(ServerTest, EventsThenRecommendationsStatsAndMetrics) {
  StartServer({});
  api_->SetEngine(engine_.get());
  Client c(server_->port());
  Reply r = c.Send(http::verb::post, "/v1/events", EventsBody(50));
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.body["accepted"], 50);
  EXPECT_EQ(r.body["last_seq"], 50);
  r = c.Send(http::verb::post, "/v1/events", EventsBody(10, 45));  // 5 repeats
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(r.body["accepted"], 5);
  EXPECT_EQ(r.body["duplicates"], 5);
  ASSERT_OK(engine_->WaitForApplied(55, 10000));
  r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=3&model=itemknn");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["items"].size(), 3u);
  EXPECT_EQ(r.body["model_version"], "itemknn@55");
  EXPECT_TRUE(r.body["known_user"].get<bool>());
  EXPECT_FALSE(r.body["request_id"].get<std::string>().empty());
  EXPECT_THAT(r.body["items"][0]["reason"].get<std::string>(), HasSubstr("because you viewed"));
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.body["known_user"].get<bool>());
  EXPECT_THAT(r.body["items"][0]["reason"].get<std::string>(), HasSubstr("popular"));
  r = c.Send(http::verb::get, "/v1/stats");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["events"], 55);
  EXPECT_EQ(r.body["users"], 7);
  EXPECT_EQ(r.body["freshness_ms"]["count"], 55);
  // No impression yet: every event is organic (not_shown), the rates are null.
  const nlohmann::json& impressions = r.body["impressions"];
  EXPECT_EQ(impressions["recorded"], 0);
  EXPECT_EQ(impressions["unattributed"]["not_shown"], 55);
  EXPECT_TRUE(impressions["ctr"].is_null());
  EXPECT_EQ(impressions["positions"].size(), 11u);
  EXPECT_EQ(impressions["positions"][10]["position"], "10+");
  r = c.Send(http::verb::get, "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.text, HasSubstr("flywheel_impressions_recorded_total 0\n"));
  EXPECT_THAT(r.text,
              HasSubstr("flywheel_impression_unattributed_events_total{reason=\"not_shown\"} 55"));
  EXPECT_THAT(r.text, HasSubstr("flywheel_last_seq 55"));
  EXPECT_THAT(r.text, HasSubstr("flywheel_freshness_seconds_count 55"));
  EXPECT_THAT(r.text, HasSubstr("flywheel_request_seconds_bucket{route=\"events\""));
}

TEST_F(ServerTest, BadInputGetsJsonErrorsNamingIndexAndField) {
  StartServer({});
  api_->SetEngine(engine_.get());
  Client c(server_->port());
  Reply r = c.Send(http::verb::post, "/v1/events", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], "invalid_argument");
  json batch = json::parse(EventsBody(3));
  batch["events"][1]["ts"] = "yesterday";
  r = c.Send(http::verb::post, "/v1/events", batch.dump());
  EXPECT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["field"], "events[1].ts");
  EXPECT_EQ(r.body["errors"].size(), 1u);
  EXPECT_EQ(engine_->stats().last_seq, 0u);  // nothing of a bad batch is logged
  std::string deep(100, '[');
  r = c.Send(http::verb::post, "/v1/events", "{\"events\":" + deep);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("nested deeper"));
  r = c.Send(http::verb::get, "/v1/users/u1/recommendations?k=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "k");
  r = c.Send(http::verb::get, "/v1/users/u1/recommendations?model=nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(c.Send(http::verb::get, "/nowhere").status, 404);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/events").status, 405);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/items/i1/similar").status, 404);  // unknown item
  EXPECT_EQ(c.Send(http::verb::post, "/v1/items/i1").status, 405);
  // No keys configured (loopback only): admin routes are open like the others.
  Reply snap = c.Send(http::verb::post, "/v1/admin/snapshot");
  EXPECT_EQ(snap.status, 200) << snap.text;
}

TEST_F(ServerTest, KeysAndScopes) {
  StartServer(ApiKeys{"rk", "wk", "ak"});
  api_->SetEngine(engine_.get());
  Client c(server_->port());
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats").status, 401);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "bogus").status, 401);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "rk").status, 200);
  {
    // Refused from its header, the body is never read: the server closes the connection after
    // answering (Connection: close), so this one goes on a connection of its own.
    Client once(server_->port());
    Reply refused = once.Send(http::verb::post, "/v1/events", EventsBody(2), "rk");
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(refused.headers["connection"], "close");
  }
  EXPECT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(2), "wk").status, 202);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "wk").status, 200);  // write grants read
  EXPECT_EQ(c.Send(http::verb::post, "/v1/admin/snapshot", "", "wk").status, 403);
  ASSERT_OK(engine_->WaitForApplied(2, 10000));  // a snapshot holds the applied state
  Reply r = c.Send(http::verb::post, "/v1/admin/snapshot", "", "ak");
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["snapshot_seq"], 2);
  EXPECT_EQ(c.Send(http::verb::get, "/healthz").status, 200);  // no key needed
}

TEST_F(ServerTest, BodyLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  StartServer({}, options);
  api_->SetEngine(engine_.get());
  Client c(server_->port());
  Reply r = c.Send(http::verb::post, "/v1/events", EventsBody(100));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body["code"], "payload_too_large");
}

TEST_F(ServerTest, CatalogueRoutesEndToEndAlsoAfterRestart) {
  StartServer(ApiKeys{"rk", "wk", "ak"});
  api_->SetEngine(engine_.get());
  Client c(server_->port());
  Reply r = c.Send(http::verb::put, "/v1/items/i3",
                   R"({"title": "Heat", "categories": ["crime"], "created": 1700000000000})", "wk");
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.body["seq"], 1);
  r = c.Send(http::verb::put, "/v1/items/i4", R"({"categories": 5})", "wk");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "categories");
  r = c.Send(http::verb::put, "/v1/users/u1", R"({"attributes": {"age": 30}})", "wk");
  ASSERT_EQ(r.status, 202) << r.text;
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(60), "wk").status, 202);
  ASSERT_OK(engine_->WaitForApplied(62, 10000));
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?k=20", "", "rk");
  ASSERT_EQ(r.status, 200);
  bool saw_heat = false;
  for (const json& item : r.body["items"]) {
    if (item["id"] == "i3") {
      saw_heat = true;
      EXPECT_EQ(item["reason"], "popular in crime now");
    }
  }
  EXPECT_TRUE(saw_heat) << r.text;
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?categories=crime", "", "rk");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body["items"].size(), 1u) << r.text;
  EXPECT_EQ(r.body["items"][0]["id"], "i3");
  r = c.Send(http::verb::get, "/v1/items/i3/similar?k=3&model=pop", "", "rk");
  EXPECT_EQ(r.status, 200) << r.text;
  // Delete an item; forget a user (admin only).
  ASSERT_EQ(c.Send(http::verb::delete_, "/v1/items/i3", "", "wk").status, 202);
  EXPECT_EQ(c.Send(http::verb::delete_, "/v1/users/u1", "", "wk").status, 403);
  r = c.Send(http::verb::delete_, "/v1/users/u1", "", "ak");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_GE(r.body["snapshot_seq"].get<uint64_t>(), r.body["seq"].get<uint64_t>());
  auto check = [&](Client& client) {
    Reply rec = client.Send(http::verb::get, "/v1/users/u1/recommendations?k=20", "", "rk");
    ASSERT_EQ(rec.status, 200);
    EXPECT_FALSE(rec.body["known_user"].get<bool>());
    for (const json& item : rec.body["items"]) {
      EXPECT_NE(item["id"], "i3");
    }
    Reply stats = client.Send(http::verb::get, "/v1/stats", "", "rk");
    EXPECT_EQ(stats.body["users"], 6);
    EXPECT_EQ(client.Send(http::verb::get, "/v1/items/i3/similar", "", "rk").status, 404);
  };
  check(c);
  // After a restart (from the log and the purge snapshot).
  server_->Stop();
  server_.reset();
  ASSERT_OK(engine_->Close());
  engine_.reset();
  StartServer(ApiKeys{"rk", "wk", "ak"});
  api_->SetEngine(engine_.get());
  Client again(server_->port());
  check(again);
}

TEST(QueryTest, ParsesAndDecodes) {
  auto q = ParseQuery("k=5&name=a%20b+c&flag&x=1&x=2");
  ASSERT_OK(q.status());
  EXPECT_EQ(q->at("k"), "5");
  EXPECT_EQ(q->at("name"), "a b c");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("x"), "2");
  EXPECT_FALSE(ParseQuery("a=%zz").ok());
  EXPECT_FALSE(ParseQuery("a=%2").ok());
  EXPECT_EQ(JsonDepth(R"({"a":[1,{"b":"[[[["}]})"), 3);
}

}  // namespace
}  // namespace flywheel::server
