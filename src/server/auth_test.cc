// The authorization matrix: every route of doc/http_api.md (the ones answering 501 today too)
// x credentials (none, malformed, wrong key, each scope) -> 401 / 403 / allowed. A new route is one
// line in kRoutes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using test::Client;
using test::EventsBody;
using test::Reply;

struct RouteCase {
  http::verb verb;
  std::string target;
  std::string body;
  Scope scope;  // kNone: public
};

const std::vector<RouteCase>& Routes() {
  static const std::vector<RouteCase> kRoutes = {
      {http::verb::get, "/", "", Scope::kNone},  // the dashboard's files (static_assets.h)
      {http::verb::get, "/ui/app.js", "", Scope::kNone},
      {http::verb::post, "/v1/events", EventsBody(1), Scope::kWrite},
      {http::verb::put, "/v1/items/i1", R"({"title": "t", "categories": ["c"]})", Scope::kWrite},
      {http::verb::delete_, "/v1/items/i1", "", Scope::kWrite},
      {http::verb::post, "/v1/items:batch", R"({"items": [{"id": "i2", "title": "t"}]})",
       Scope::kWrite},
      {http::verb::put, "/v1/users/u1", R"({"attributes": {"k": "v"}})", Scope::kWrite},
      {http::verb::delete_, "/v1/users/u1", "", Scope::kAdmin},
      {http::verb::get, "/v1/users/u1/recommendations", "", Scope::kRead},
      {http::verb::get, "/v1/users/u1/recommendations?categories=c&explain=true", "", Scope::kRead},
      {http::verb::get, "/v1/items/i1/similar", "", Scope::kRead},
      {http::verb::get, "/v1/stats", "", Scope::kRead},
      {http::verb::get, "/v1/stats/history", "", Scope::kRead},
      {http::verb::get, "/v1/users/u1", "", Scope::kRead},
      {http::verb::get, "/v1/items/i1", "", Scope::kRead},
      {http::verb::post, "/v1/users/u1/recommendations/dry-run",
       R"({"event": {"item": "i1", "type": "click"}})", Scope::kRead},
      {http::verb::post, "/v1/admin/snapshot", "", Scope::kAdmin},
      {http::verb::get, "/healthz", "", Scope::kNone},
      {http::verb::get, "/readyz", "", Scope::kNone},
      {http::verb::get, "/metrics", "", Scope::kNone},
  };
  return kRoutes;
}

std::string Describe(const RouteCase& route) {
  return std::string(http::to_string(route.verb)) + " " + route.target;
}

bool Denied(int status) {
  return status == 401 || status == 403;
}

class AuthTest : public test::ServerFixture {
 protected:
  Reply Send(const RouteCase& route, const std::string& authorization) {
    Client c(port());
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty()) {
      headers.emplace_back("Authorization", authorization);
    }
    return c.Send(route.verb, route.target, route.body, "", headers);
  }
};

TEST_F(AuthTest, MatrixWithKeys) {
  StartReady(ApiKeys{"read-key", "write-key", "admin-key"});
  const std::vector<std::pair<Scope, std::string>> keys = {
      {Scope::kRead, "read-key"}, {Scope::kWrite, "write-key"}, {Scope::kAdmin, "admin-key"}};
  const std::vector<std::string> unauthenticated = {
      "",                  // no header
      "Bearer wrong-key",  // unknown key
      "Bearer read-ke",    // a prefix of a key
      "Bearer ",           // empty key
      "Bearer",            // no key at all
      "bearer admin-key",  // scheme is case-sensitive here
      "Basic YWRtaW4ta2V5",
      "admin-key",
  };
  for (const RouteCase& route : Routes()) {
    SCOPED_TRACE(Describe(route));
    if (route.scope == Scope::kNone) {
      for (const std::string& auth : {std::string(), std::string("Bearer wrong-key")}) {
        EXPECT_EQ(Send(route, auth).status, 200) << auth;
      }
      continue;
    }
    for (const std::string& auth : unauthenticated) {
      Reply r = Send(route, auth);
      EXPECT_EQ(r.status, 401) << "'" << auth << "': " << r.text;
      EXPECT_EQ(r.body["code"], "unauthenticated") << auth;
    }
    for (const auto& [scope, key] : keys) {
      Reply r = Send(route, "Bearer " + key);
      if (static_cast<int>(scope) < static_cast<int>(route.scope)) {
        EXPECT_EQ(r.status, 403) << key << ": " << r.text;
        EXPECT_EQ(r.body["code"], "permission_denied") << key;
      } else {  // a higher scope grants the lower ones
        EXPECT_FALSE(Denied(r.status)) << key << ": " << r.text;
      }
    }
  }
}

// Without keys the deployment is loopback-only (flywheel serve refuses any other host, see
// server/serve_config.cc): every route needs no key, admin routes included (the same rule as the
// other routes), whatever the client sends.
TEST_F(AuthTest, MatrixWithoutKeys) {
  StartReady(ApiKeys{});
  for (const RouteCase& route : Routes()) {
    SCOPED_TRACE(Describe(route));
    for (const std::string& auth : {std::string(), std::string("Bearer anything")}) {
      Reply r = Send(route, auth);
      EXPECT_FALSE(Denied(r.status)) << auth << ": " << r.text;
    }
  }
  // The admin routes do their work: a snapshot is written.
  Client c(port());
  Reply snap = c.Send(http::verb::post, "/v1/admin/snapshot");
  EXPECT_EQ(snap.status, 200) << snap.text;
}

// A single configured key grants only its own scope and below.
TEST_F(AuthTest, OnlyAReadKeyConfigured) {
  StartReady(ApiKeys{"read-key", "", ""});
  for (const RouteCase& route : Routes()) {
    SCOPED_TRACE(Describe(route));
    Reply r = Send(route, "Bearer read-key");
    if (route.scope == Scope::kWrite || route.scope == Scope::kAdmin) {
      EXPECT_EQ(r.status, 403) << r.text;
    } else {
      EXPECT_FALSE(Denied(r.status)) << r.text;
    }
    // An empty bearer token never matches an unconfigured (empty) key.
    if (route.scope != Scope::kNone) {
      EXPECT_EQ(Send(route, "Bearer ").status, 401);
    }
  }
}

TEST(ApiKeysTest, ScopeOf) {
  const ApiKeys keys{"r", "w", "a"};
  EXPECT_EQ(keys.ScopeOf("r"), Scope::kRead);
  EXPECT_EQ(keys.ScopeOf("w"), Scope::kWrite);
  EXPECT_EQ(keys.ScopeOf("a"), Scope::kAdmin);
  EXPECT_EQ(keys.ScopeOf(""), Scope::kNone);
  EXPECT_EQ(keys.ScopeOf("rr"), Scope::kNone);
  EXPECT_EQ(ApiKeys{}.ScopeOf(""), Scope::kNone);
  EXPECT_FALSE(ApiKeys{}.any());
}

}  // namespace
}  // namespace flywheel::server
