#include "server/router.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PathPatternTest, LiteralAndParameters) {
  const PathPattern literal("/v1/events");
  EXPECT_EQ(literal.Match("/v1/events"), "");
  EXPECT_FALSE(literal.Match("/v1/events/").has_value());
  EXPECT_FALSE(literal.has_param());

  const PathPattern segment("/v1/items/{id}");
  EXPECT_TRUE(segment.has_param());
  EXPECT_EQ(segment.Match("/v1/items/i%201"), "i%201");
  EXPECT_FALSE(segment.Match("/v1/items/").has_value());     // empty parameter
  EXPECT_FALSE(segment.Match("/v1/items/a/b").has_value());  // a trailing one is one segment
  EXPECT_FALSE(segment.Match("/v1/itemsx/a").has_value());

  const PathPattern middle("/v1/users/{id}/recommendations");
  EXPECT_EQ(middle.Match("/v1/users/u1/recommendations"), "u1");
  EXPECT_EQ(middle.Match("/v1/users/a/b/recommendations"), "a/b");  // up to the suffix
  EXPECT_FALSE(middle.Match("/v1/users/recommendations").has_value());
  EXPECT_FALSE(middle.Match("/v1/users//recommendations").has_value());
}

TEST(RouterTest, FindsByMethodAndPathElse405Or404) {
  Router<int> router;
  router.Add("items", http::verb::put, "/v1/items/{id}", 1);
  router.Add("items", http::verb::delete_, "/v1/items/{id}", 2);
  router.Add("similar", http::verb::get, "/v1/items/{id}/similar", 3);

  auto found = router.Find(http::verb::delete_, "/v1/items/i7");
  ASSERT_NE(found.route, nullptr);
  EXPECT_EQ(found.route->handler, 2);
  EXPECT_EQ(found.name, "items");
  EXPECT_EQ(found.param, "i7");

  found = router.Find(http::verb::get, "/v1/items/i7");  // known path, other method
  EXPECT_EQ(found.route, nullptr);
  EXPECT_TRUE(found.method_not_allowed());
  EXPECT_EQ(found.name, "items");

  found = router.Find(http::verb::post, "/v1/items/i7/similar");
  EXPECT_TRUE(found.method_not_allowed());
  EXPECT_EQ(found.name, "similar");

  found = router.Find(http::verb::get, "/v1/nowhere");
  EXPECT_EQ(found.route, nullptr);
  EXPECT_FALSE(found.method_not_allowed());
  EXPECT_EQ(found.name, "");
}

std::vector<std::string> Names(const Api& api) {
  std::vector<std::string> names;
  for (const auto& route : api.router().routes()) {
    names.push_back(std::string(http::to_string(route.method)) + " " + route.name);
  }
  return names;
}

TEST(ApiRoutesTest, TableNamesEveryRoute) {
  const Api api(ApiKeys{}, ApiLimits{});
  EXPECT_THAT(Names(api),
              ElementsAre("GET ui", "GET ui", "GET healthz", "GET readyz", "GET metrics",
                          "POST events", "GET stats", "GET stats_history", "POST snapshot",
                          "GET replication", "GET replica_bootstrap", "GET replica_file",
                          "GET recommendations", "POST impressions", "POST dry_run", "GET similar",
                          "GET item_detail", "PUT items", "DELETE items", "POST items_batch",
                          "GET user_detail", "PUT users", "DELETE users"));
}

Response Send(Api& api, http::verb method, const std::string& target) {
  Request request{method, target, 11};
  return api.Handle(request);
}

// Without an engine (recovering): 404 for unknown paths, 405 for known paths under another
// method, 503 for routes that need the engine; the metrics count each under its route's name.
TEST(ApiRoutesTest, StatusesAndRouteNamesWithoutEngine) {
  Api api(ApiKeys{}, ApiLimits{});
  EXPECT_EQ(Send(api, http::verb::get, "/healthz").result_int(), 200);
  EXPECT_EQ(Send(api, http::verb::get, "/readyz").result_int(), 503);
  Response res = Send(api, http::verb::get, "/nowhere");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(nlohmann::json::parse(res.body())["message"], "no route /nowhere");
  res = Send(api, http::verb::get, "/v1/events");
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(nlohmann::json::parse(res.body())["code"], "method_not_allowed");
  EXPECT_EQ(Send(api, http::verb::post, "/healthz").result_int(), 405);
  EXPECT_EQ(Send(api, http::verb::put, "/v1/users/u1").result_int(), 503);
  EXPECT_EQ(Send(api, http::verb::get, "/v1/users/u%zz/recommendations").result_int(), 400);
  // No keys (loopback): the admin route is open like the others, so it waits for the engine.
  EXPECT_EQ(Send(api, http::verb::delete_, "/v1/users/u1").result_int(), 503);
  const std::string metrics = Send(api, http::verb::get, "/metrics").body();
  EXPECT_THAT(metrics, HasSubstr("flywheel_ready 0"));
  for (const char* route : {"healthz", "readyz", "other", "events", "users", "recommendations"}) {
    EXPECT_THAT(metrics, HasSubstr("route=\"" + std::string(route) + "\"")) << route;
  }
}

}  // namespace
}  // namespace flywheel::server
