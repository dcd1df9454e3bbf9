// The dashboard's routes end to end over real sockets (doc/http_api.md, "Dashboard"): the
// additions to GET /v1/stats, GET /v1/stats/history, GET /v1/users/{id}, GET /v1/items/{id}
// and the dry run.
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/api.h"
#include "server/server_test_fixture.h"
#include "testing/status_matchers.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using ::testing::HasSubstr;

using DashboardTest = test::ServerFixture;
using test::Client;
using test::EventsBody;
using test::Reply;

std::string Event(const std::string& user, const std::string& item, const std::string& type,
                  int64_t ts, const std::string& id = "") {
  json e = {{"user", user}, {"item", item}, {"type", type}, {"ts", ts}};
  if (!id.empty()) {
    e["id"] = id;
  }
  return json{{"events", json::array({e})}}.dump();
}

TEST_F(DashboardTest, StatsHasLiveQualityStorageModelVersionsAndUptime) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10000));
  Reply r = c.Send(http::verb::get, "/v1/stats");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["events"], 50);  // the existing fields stay
  EXPECT_TRUE(r.body["live_quality"]["hr@10"].is_null());
  EXPECT_EQ(r.body["live_quality"]["lists"], 0);
  EXPECT_EQ(r.body["live_quality"]["hits"], 0);
  EXPECT_GT(r.body["storage"]["log_bytes"].get<uint64_t>(), 50u * 20);
  EXPECT_EQ(r.body["storage"]["snapshots"], 0);
  EXPECT_EQ(r.body["storage"]["snapshot_bytes"], 0);
  EXPECT_EQ(r.body["model_versions"], json::parse(R"([{"name": "pop", "version": "pop@50"},
                            {"name": "itemknn", "version": "itemknn@50"}])"));
  EXPECT_GE(r.body["uptime_s"].get<int64_t>(), 0);
  ASSERT_OK(engine_->Snapshot().status());
  r = c.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(r.body["storage"]["snapshots"], 1);
  EXPECT_GT(r.body["storage"]["snapshot_bytes"].get<uint64_t>(), 0u);
}

TEST_F(DashboardTest, LiveQualityScoresServedListsByTheNextPositiveEvent) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10000));
  Reply r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=10");
  ASSERT_EQ(r.status, 200);
  ASSERT_FALSE(r.body["items"].empty());
  const std::string first = r.body["items"][0]["id"];
  // A click on the first item: a hit; then a second click scores nothing more.
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/events", Event("u3", first, "click", 1700000001000)).status,
      202);
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/events", Event("u3", "zzz", "click", 1700000001001)).status,
      202);
  // A view is positive in the default table: a new list, then a view of an item outside it is
  // a miss.
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u4/recommendations?k=10").status, 200);
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/events", Event("u4", "nope", "view", 1700000001002)).status,
      202);
  // Negative events never score: a skip after a list.
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u5/recommendations?k=10").status, 200);
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/events", Event("u5", first, "skip", 1700000001003)).status,
      202);
  r = c.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(r.body["live_quality"]["lists"], 2);
  EXPECT_EQ(r.body["live_quality"]["hits"], 1);
  EXPECT_DOUBLE_EQ(r.body["live_quality"]["hr@10"].get<double>(), 0.5);
}

TEST_F(DashboardTest, LiveQualityCountsTheEnginesOwnEventTypes) {
  event_types_ = "wishlist=2";  // a shop's own positive type, unknown to the default table
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10000));
  Reply r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=10");
  ASSERT_EQ(r.status, 200);
  ASSERT_FALSE(r.body["items"].empty());
  const std::string first = r.body["items"][0]["id"];
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/events", Event("u3", first, "wishlist", 1700000001000)).status,
      202);
  r = c.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(r.body["live_quality"]["lists"], 1);
  EXPECT_EQ(r.body["live_quality"]["hits"], 1);
  r = c.Send(http::verb::get, "/v1/items/" + first);
  EXPECT_EQ(r.body["clicked_after_recommended"], 1);
}

TEST_F(DashboardTest, ResentBatchesDoNotScoreTwice) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10000));
  Reply r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=10");
  const std::string first = r.body["items"][0]["id"];
  const std::string click = Event("u3", first, "click", 1700000001000, "click-1");
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", click).status, 202);
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u3/recommendations?k=10").status, 200);
  r = c.Send(http::verb::post, "/v1/events", click);  // a resend: deduplicated
  ASSERT_EQ(r.body["duplicates"], 1);
  r = c.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(r.body["live_quality"]["lists"], 1);
  EXPECT_EQ(r.body["live_quality"]["hits"], 1);
}

TEST_F(DashboardTest, HistoryHoldsIntervalSamplesOldestFirst) {
  StartReady();
  Client c(port());
  Reply r = c.Send(http::verb::get, "/v1/stats/history");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["interval_s"], 2);
  EXPECT_TRUE(r.body["t"].empty());
  api_->SampleHistoryAt(1'000'000);  // the first reading only
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(40)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(40, 10000));
  ASSERT_TRUE(WaitForFreshness(40));
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u1/recommendations").status, 200);
  }
  api_->SampleHistoryAt(1'002'000);
  api_->SampleHistoryAt(1'004'000);  // an interval with nothing in it
  r = c.Send(http::verb::get, "/v1/stats/history");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["t"], json::array({1'002'000, 1'004'000}));
  EXPECT_EQ(r.body["events_per_s"], json::array({20.0, 0.0}));
  EXPECT_EQ(r.body["recommendations_per_s"], json::array({2.0, 0.0}));
  EXPECT_GT(r.body["recommend_p50_ms"][0].get<double>(), 0.0);
  EXPECT_GE(r.body["recommend_p99_ms"][0].get<double>(),
            r.body["recommend_p50_ms"][0].get<double>());
  EXPECT_TRUE(r.body["recommend_p50_ms"][1].is_null());
  EXPECT_GT(r.body["freshness_p99_ms"][0].get<double>(), 0.0);
  EXPECT_TRUE(r.body["freshness_p99_ms"][1].is_null());
  EXPECT_TRUE(r.body["live_hr10"][0].is_null());
}

TEST_F(DashboardTest, HistorySamplerThreadStartsAndStopsCleanly) {
  StartReady();
  api_->StartHistorySampler();
  api_->StartHistorySampler();  // no-op
  // The first reading is taken at once; the thread then waits for the interval (2 s): stopping
  // must wake it rather than wait.
  api_->StopHistorySampler();
  api_->StopHistorySampler();   // no-op
  api_->StartHistorySampler();  // and again; the destructor stops this one
  Client c(port());
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats/history").status, 200);
}

TEST_F(DashboardTest, HistoryAnswersWhileRecovering) {
  StartServer({});
  Client c(port());
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats").status, 503);
  api_->SampleHistoryAt(1000);
  api_->SampleHistoryAt(3000);
  Reply r = c.Send(http::verb::get, "/v1/stats/history");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["t"], json::array({3000}));
  EXPECT_TRUE(r.body["events_per_s"][0].is_null());
  EXPECT_EQ(r.body["recommendations_per_s"][0], 0.0);
}

TEST_F(DashboardTest, UserDetailHasAttributesCountAndHistoryNewestFirst) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::put, "/v1/items/m1",
                   R"({"title": "Heat", "categories": ["crime"], "created": 1600000000000})")
                .status,
            202);
  ASSERT_EQ(c.Send(http::verb::put, "/v1/users/ann", R"({"attributes": {"age": "31"}})").status,
            202);
  json events = json::array();
  events.push_back({{"user", "ann"}, {"item", "m1"}, {"type", "view"}, {"ts", 1700000000000}});
  events.push_back(
      {{"user", "ann"}, {"item", "m2"}, {"type", "rating"}, {"value", 4.5}, {"ts", 1700000000100}});
  events.push_back({{"user", "ann"}, {"item", "m1"}, {"type", "purchase"}, {"ts", 1700000000200}});
  Reply r = c.Send(http::verb::post, "/v1/events", json{{"events", events}}.dump());
  ASSERT_EQ(r.status, 202) << r.text;
  ASSERT_OK(engine_->WaitForApplied(r.body["last_seq"].get<uint64_t>(), 10000));
  r = c.Send(http::verb::get, "/v1/users/ann");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["id"], "ann");
  EXPECT_EQ(r.body["attributes"], json({{"age", "31"}}));
  EXPECT_EQ(r.body["events"], 3);
  ASSERT_EQ(r.body["history"].size(), 3u);
  EXPECT_EQ(r.body["history"][0], json({{"item", "m1"},
                                        {"title", "Heat"},
                                        {"type", "purchase"},
                                        {"value", 1.0},
                                        {"ts", 1700000000200}}));
  EXPECT_EQ(r.body["history"][1], json({{"item", "m2"},
                                        {"title", nullptr},
                                        {"type", "rating"},
                                        {"value", 4.5},
                                        {"ts", 1700000000100}}));
  EXPECT_EQ(r.body["history"][2]["type"], "view");
  r = c.Send(http::verb::get, "/v1/users/ann?limit=1");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body["history"].size(), 1u);
  EXPECT_EQ(r.body["history"][0]["type"], "purchase");
  EXPECT_EQ(r.body["events"], 3);  // all events, not the page
  // A user known from attributes only.
  ASSERT_EQ(c.Send(http::verb::put, "/v1/users/bob", R"({"attributes": {}})").status, 202);
  ASSERT_OK(engine_->WaitForApplied(engine_->stats().last_seq, 10000));
  r = c.Send(http::verb::get, "/v1/users/bob");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["events"], 0);
  EXPECT_TRUE(r.body["history"].empty());
  EXPECT_EQ(r.body["attributes"], json::object());
}

TEST_F(DashboardTest, UserDetailErrors) {
  StartReady();
  Client c(port());
  Reply r = c.Send(http::verb::get, "/v1/users/nobody");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["code"], "not_found");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("nobody"));
  for (const char* bad : {"0", "501", "x", "-1", "1.5"}) {
    r = c.Send(http::verb::get, std::string("/v1/users/nobody?limit=") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body["field"], "limit") << bad;
  }
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u%zz").status, 400);
  EXPECT_EQ(c.Send(http::verb::post, "/v1/users/u1").status, 405);
}

TEST_F(DashboardTest, ForgottenUsersAreNotFound) {
  StartReady(ApiKeys{"r", "w", "a"});
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(14), "w").status, 202);
  ASSERT_OK(engine_->WaitForApplied(14, 10000));
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u1", "", "r").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u1").status, 401);
  ASSERT_EQ(c.Send(http::verb::delete_, "/v1/users/u1", "", "a").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u1", "", "r").status, 404);
}

TEST_F(DashboardTest, ItemDetailHasCatalogueRecordAndCounters) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::put, "/v1/items/m1",
                   R"({"title": "Heat", "categories": ["crime", "drama"], "tags": ["heist"],
                       "attributes": {"year": "1995"}, "created": 1600000000000})")
                .status,
            202);
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  Reply r = c.Send(http::verb::post, "/v1/events", Event("u1", "m1", "view", 1700000000100));
  ASSERT_OK(engine_->WaitForApplied(r.body["last_seq"].get<uint64_t>(), 10000));
  r = c.Send(http::verb::get, "/v1/items/m1");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body, json({{"id", "m1"},
                          {"title", "Heat"},
                          {"categories", {"crime", "drama"}},
                          {"tags", {"heist"}},
                          {"attributes", {{"year", "1995"}}},
                          {"created", 1600000000000},
                          {"deleted", false},
                          {"events", 1},
                          {"recommended", 0},
                          {"clicked_after_recommended", 0}}));
  // An item known from events only; counters from served lists and clicks after them.
  r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=10");
  ASSERT_EQ(r.status, 200);
  const std::string first = r.body["items"][0]["id"];
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u4/recommendations?k=10").status, 200);
  r = c.Send(http::verb::post, "/v1/events", Event("u3", first, "click", 1700000001000));
  ASSERT_OK(engine_->WaitForApplied(r.body["last_seq"].get<uint64_t>(), 10000));
  r = c.Send(http::verb::get, "/v1/items/" + first);
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["title"].is_null());
  EXPECT_TRUE(r.body["created"].is_null());
  EXPECT_EQ(r.body["categories"], json::array());
  EXPECT_GE(r.body["events"].get<int>(), 2);
  EXPECT_GE(r.body["recommended"].get<int>(), 1);
  EXPECT_EQ(r.body["clicked_after_recommended"], 1);
  // Deleted items are still described; unknown ones are 404.
  r = c.Send(http::verb::delete_, "/v1/items/m1");
  ASSERT_OK(engine_->WaitForApplied(r.body["seq"].get<uint64_t>(), 10000));
  r = c.Send(http::verb::get, "/v1/items/m1");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["deleted"].get<bool>());
  r = c.Send(http::verb::get, "/v1/items/none");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("none"));
}

TEST_F(DashboardTest, DetailSurvivesRestartThroughTheSnapshot) {
  StartReady();
  Client c(port());
  ASSERT_EQ(
      c.Send(http::verb::put, "/v1/items/m1", R"({"title": "Heat", "tags": ["heist"]})").status,
      202);
  Reply r = c.Send(http::verb::post, "/v1/events",
                   json{{"events", json::array({{{"user", "ann"},
                                                 {"item", "m1"},
                                                 {"type", "rating"},
                                                 {"value", 3.5},
                                                 {"ts", 1700000000000}}})}}
                       .dump());
  ASSERT_OK(engine_->WaitForApplied(r.body["last_seq"].get<uint64_t>(), 10000));
  const json user = c.Send(http::verb::get, "/v1/users/ann").body;
  const json item = c.Send(http::verb::get, "/v1/items/m1").body;
  server_->Stop();
  api_->SetEngine(nullptr);
  ASSERT_OK(engine_->Close());  // writes a snapshot
  engine_.reset();
  EngineOptions eo;
  eo.data_dir = dir_.path();
  auto reopened = Engine::Open(eo);
  ASSERT_OK(reopened.status());
  EXPECT_EQ(reopened.value()->stats().replayed_events, 0u);  // from the snapshot alone
  const Result<UserDetail> u = reopened.value()->GetUser("ann", 50);
  ASSERT_OK(u.status());
  ASSERT_EQ(u->history.size(), 1u);
  EXPECT_EQ(u->history[0].value, 3.5);
  EXPECT_EQ(u->events, user["events"].get<uint64_t>());
  const Result<ItemDetail> i = reopened.value()->GetItem("m1");
  ASSERT_OK(i.status());
  EXPECT_EQ(i->tags, std::vector<std::string>{"heist"});
  EXPECT_EQ(i->events, item["events"].get<uint64_t>());
  EXPECT_OK(reopened.value()->Close());
}

// 100 view events: users u0..u4, items i0..i29; each user sees 6 items.
std::string SpreadEvents() {
  json events = json::array();
  for (int i = 0; i < 100; ++i) {
    events.push_back({{"user", "u" + std::to_string(i % 5)},
                      {"item", "i" + std::to_string((i * 7) % 30)},
                      {"type", "view"},
                      {"ts", 1700000000000LL + i}});
  }
  return json{{"events", events}}.dump();
}

std::string DryRunBody(const std::string& item, const std::string& type, int k = 10) {
  return json{{"event", {{"item", item}, {"type", type}}}, {"k", k}, {"explain", true}}.dump();
}

TEST_F(DashboardTest, DryRunShowsTheEffectAndChangesNothing) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", SpreadEvents()).status, 202);
  ASSERT_OK(engine_->WaitForApplied(100, 10000));
  ASSERT_TRUE(WaitForFreshness(100));
  const std::string recs = "/v1/users/u3/recommendations?k=5&model=itemknn&explain=true";
  Reply real = c.Send(http::verb::get, recs);
  ASSERT_EQ(real.status, 200);
  const json stats_before = c.Send(http::verb::get, "/v1/stats").body;
  const Result<uint32_t> digest_before = engine_->StateDigest();
  ASSERT_OK(digest_before.status());
  const std::string first = real.body["items"][0]["id"];
  Reply r = c.Send(http::verb::post, "/v1/users/u3/recommendations/dry-run",
                   json{{"event", {{"item", first}, {"type", "purchase"}}},
                        {"k", 5},
                        {"explain", true},
                        {"model", "itemknn"}}
                       .dump());
  ASSERT_EQ(r.status, 200) << r.text;
  // "before" is exactly the real answer (but for the request id and what only a served list
  // carries: its recommendation id, policy and propensities, doc/http_api.md "dry-run").
  json before = r.body["before"];
  json expected = real.body;
  before.erase("request_id");
  for (const char* served_only : {"request_id", "recommendation_id", "policy"}) {
    expected.erase(served_only);
  }
  for (json& item : expected["items"]) {
    item.erase("propensity");
    item.erase("step");
  }
  EXPECT_EQ(before, expected);
  const json& after = r.body["after"];
  EXPECT_EQ(after["model_version"], real.body["model_version"]);
  EXPECT_TRUE(after["known_user"].get<bool>());
  ASSERT_FALSE(after["items"].empty());
  bool names_the_purchase = false;
  for (const json& item : after["items"]) {
    EXPECT_NE(item["id"], first);  // now seen
    names_the_purchase |=
        item["reason"].get<std::string>().find("bought " + first) != std::string::npos;
  }
  EXPECT_TRUE(names_the_purchase) << after.dump();
  // Nothing was logged, applied or counted.
  EXPECT_OK(engine_->StateDigest().status());
  EXPECT_EQ(engine_->StateDigest().value(), digest_before.value());
  json stats_after = c.Send(http::verb::get, "/v1/stats").body;
  for (const char* key :
       {"events", "last_seq", "applied_seq", "users", "items", "live_quality", "freshness_ms"}) {
    EXPECT_EQ(stats_after[key], stats_before[key]) << key;
  }
  // A dry run is no served list: only u3's real list is remembered.
  ASSERT_EQ(
      c.Send(http::verb::post, "/v1/users/u4/recommendations/dry-run", DryRunBody(first, "click"))
          .status,
      200);
  EXPECT_EQ(api_->live_quality().users(), 1u);
  Reply again = c.Send(http::verb::get, recs);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body["items"], real.body["items"]);
  const json item = c.Send(http::verb::get, "/v1/items/" + first).body;
  EXPECT_EQ(item["recommended"], 2);  // the two real lists, not the dry run
}

TEST_F(DashboardTest, DryRunForANewUserAndErrors) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(70)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(70, 10000));
  const std::string path = "/v1/users/newbie/recommendations/dry-run";
  Reply r = c.Send(http::verb::post, path, DryRunBody("i4", "click"));
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_FALSE(r.body["before"]["known_user"].get<bool>());
  EXPECT_THAT(r.body["before"]["items"][0]["reason"].get<std::string>(), HasSubstr("popular"));
  for (const json& item : r.body["after"]["items"]) {
    EXPECT_NE(item["id"], "i4");
  }
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/newbie").status, 404);  // still never seen
  r = c.Send(http::verb::post, path, DryRunBody("nope", "click"));
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("'nope'"));
  r = c.Send(http::verb::post, path, DryRunBody("i4", "teleport"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "event.type");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"k": 5})", "event"},
      {R"({"event": {"type": "click"}})", "event.item"},
      {R"({"event": {"item": "i4"}})", "event.type"},
      {R"({"event": {"item": 4, "type": "click"}})", "event.item"},
      {R"({"event": {"item": "i4", "type": "click", "value": "x"}})", "event.value"},
      {R"({"event": {"item": "i4", "type": "click", "ts": 1}})", "event.ts"},
      {R"({"event": "i4"})", "event"},
      {R"({"event": {"item": "i4", "type": "click"}, "k": 0})", "k"},
      {R"({"event": {"item": "i4", "type": "click"}, "k": 1001})", "k"},
      {R"({"event": {"item": "i4", "type": "click"}, "explain": "yes"})", "explain"},
      {R"({"event": {"item": "i4", "type": "click"}, "model": "nope"})", "model"},
      {R"({"event": {"item": "i4", "type": "click"}, "categories": []})", "categories"},
      {R"({"event": {"item": "i4", "type": "click"}, "extra": 1})", "extra"},
      {R"([1, 2])", "event"},
  };
  for (const auto& [body, field] : bad) {
    r = c.Send(http::verb::post, path, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body["field"], field) << body << " " << r.text;
  }
  r = c.Send(http::verb::post, path, "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(c.Send(http::verb::get, path).status, 405);
  EXPECT_EQ(engine_->stats().last_seq, 70u);
}

}  // namespace
}  // namespace flywheel::server
