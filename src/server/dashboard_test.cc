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

}  // namespace
}  // namespace flywheel::server
