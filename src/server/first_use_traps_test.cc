// The first-use traps of issue 18 over real sockets: each was a silent acceptance (a `ts` in
// seconds taken as 1970, unknown query parameters and categories ignored, the deletion of an
// unknown item acknowledged, explain ignored for popular items, scores without meaning).
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/server_test_fixture.h"
#include "testing/status_matchers.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using ::testing::HasSubstr;

using FirstUseTrapsTest = test::ServerFixture;
using test::Client;
using test::EventsBody;
using test::Reply;

std::string OneEvent(const json& ts, const std::string& unit = "") {
  json event = {{"user", "u1"}, {"item", "i1"}, {"type", "click"}, {"ts", ts}};
  if (!unit.empty()) {
    event["ts_unit"] = unit;
  }
  return json{{"events", json::array({event})}}.dump();
}

TEST_F(FirstUseTrapsTest, TimestampInSecondsIsRefusedAndAcceptedWithItsUnit) {
  StartReady();
  Client c(port());
  Reply r = c.Send(http::verb::post, "/v1/events", OneEvent(1700000000));
  ASSERT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["field"], "events[0].ts");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("is it in seconds?"));
  r = c.Send(http::verb::post, "/v1/events", OneEvent(1700000000, "s"));
  ASSERT_EQ(r.status, 202) << r.text;
  r = c.Send(http::verb::post, "/v1/events", OneEvent(1700000000, "minutes"));
  ASSERT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["field"], "events[0].ts_unit");
}

TEST_F(FirstUseTrapsTest, TimestampMoreThanADayAheadIsRefused) {
  StartReady();
  Client c(port());
  // 2190-01-01 (in range for files, but not for a live event).
  Reply r = c.Send(http::verb::post, "/v1/events", OneEvent("2190-01-01T00:00:00Z"));
  ASSERT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["field"], "events[0].ts");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("more than a day in the future"));
}

TEST_F(FirstUseTrapsTest, UnknownQueryParametersAreNamedOnEveryRoute) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(20)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(20, 10000));
  const std::pair<http::verb, std::string> cases[] = {
      {http::verb::get, "/v1/users/u1/recommendations?k=3&explian=true"},
      {http::verb::get, "/v1/items/i1/similar?explian=true"},
      {http::verb::get, "/v1/stats?explian=1"},
      {http::verb::get, "/metrics?explian=1"},
      {http::verb::get, "/healthz?explian=1"},
      {http::verb::post, "/v1/events?explian=1"},
      {http::verb::delete_, "/v1/items/i1?explian=1"},
  };
  for (const auto& [verb, target] : cases) {
    const Reply r = c.Send(verb, target, verb == http::verb::post ? EventsBody(1) : "");
    EXPECT_EQ(r.status, 400) << target << " " << r.text;
    EXPECT_EQ(r.body["field"], "explian") << target;
    EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("unknown query parameter"))
        << target;
  }
  const Reply r = c.Send(http::verb::get, "/v1/users/u1/recommendations?kk=3&explian=true");
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("'explian', 'kk'"));
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("allowed: 'k'"));
  // The item was not deleted by the refused call.
  EXPECT_EQ(c.Send(http::verb::get, "/v1/items/i1/similar?k=2").status, 200);
}

TEST_F(FirstUseTrapsTest, UnknownCategoryAnswersAnEmptyListWithAWarning) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::put, "/v1/items/i1", R"({"categories": ["jazz"]})").status, 202);
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(30)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(31, 10000));
  Reply r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?categories=jaz");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_TRUE(r.body["items"].empty());
  ASSERT_EQ(r.body["warnings"].size(), 1u) << r.text;
  EXPECT_EQ(r.body["warnings"][0]["code"], "unknown_category");
  EXPECT_EQ(r.body["warnings"][0]["field"], "categories");
  EXPECT_THAT(r.body["warnings"][0]["message"].get<std::string>(), HasSubstr("'jaz'"));
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?categories=jazz,jaz");
  ASSERT_EQ(r.status, 200) << r.text;
  ASSERT_EQ(r.body["items"].size(), 1u) << r.text;
  EXPECT_EQ(r.body["items"][0]["id"], "i1");
  EXPECT_EQ(r.body["warnings"].size(), 1u);
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?categories=jazz");
  EXPECT_FALSE(r.body.contains("warnings")) << r.text;
}

TEST_F(FirstUseTrapsTest, DeletingAnUnknownItemIsNotFound) {
  StartReady();
  Client c(port());
  Reply r = c.Send(http::verb::delete_, "/v1/items/never-seen");
  EXPECT_EQ(r.status, 404) << r.text;
  EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("never-seen"));
  // An item PUT just before is known (the check waits for what was logged before it).
  ASSERT_EQ(c.Send(http::verb::put, "/v1/items/fresh", R"({"title": "Fresh"})").status, 202);
  EXPECT_EQ(c.Send(http::verb::delete_, "/v1/items/fresh").status, 202);
  EXPECT_EQ(c.Send(http::verb::delete_, "/v1/items/fresh").status, 404);  // already deleted
  ASSERT_EQ(c.Send(http::verb::post, "/v1/admin/snapshot").status, 200);  // no keys: loopback open
  EXPECT_EQ(engine_->stats().deleted_items, 1u);
}

TEST_F(FirstUseTrapsTest, PopularItemsAreExplainedAndScoredByTheirTrendingCount) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(77)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(77, 10000));
  const Reply r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?k=5&explain=true");
  ASSERT_EQ(r.status, 200) << r.text;
  ASSERT_EQ(r.body["items"].size(), 5u) << r.text;
  double previous = 1e300;
  int popular = 0;
  for (const json& item : r.body["items"]) {
    SCOPED_TRACE(item.dump());
    if (item.value("exploration", false)) {
      EXPECT_EQ(item["reason"], "new");  // an exploration slot: not placed by popularity
      continue;
    }
    ++popular;
    EXPECT_THAT(item["reason"].get<std::string>(), HasSubstr("popular"));
    ASSERT_TRUE(item.contains("explanation"));
    const json& e = item["explanation"];
    EXPECT_EQ(e["source"], "trending");
    EXPECT_DOUBLE_EQ(e["half_life_hours"].get<double>(), 6.0);
    const double count = e["count"].get<double>();
    // 77 views (weight 0.5) over 11 items within 77 ms: 7 views each, 3.5 in all.
    EXPECT_NEAR(count, 3.5, 1e-3);
    EXPECT_NEAR(item["score"].get<double>(), count, 1e-3);
    EXPECT_LE(count, previous + 1e-5);  // in list order (equal counts up to float rounding)
    previous = count;
  }
  EXPECT_GE(popular, 4);
  // Without explain: no explanation, the same readable score.
  const Reply plain = c.Send(http::verb::get, "/v1/users/nobody/recommendations?k=1");
  ASSERT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.body["items"][0].contains("explanation"));
  EXPECT_NEAR(plain.body["items"][0]["score"].get<double>(), 3.5, 1e-3);
}

}  // namespace
}  // namespace flywheel::server
