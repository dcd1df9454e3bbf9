// StaticAssets (the dashboard's files compiled into the binary) and the routes that serve them:
// content types, ETag revalidation, 404s, no key for the files while the data routes keep theirs.
#include "server/static_assets.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using test::Client;
using test::Reply;

const unsigned char kHello[] = {'h', 'i', '!'};
const unsigned char kEmpty[] = {0};

Request Get(const std::string& target, const std::string& if_none_match = "") {
  Request req{http::verb::get, target, 11};
  if (!if_none_match.empty()) {
    req.set(http::field::if_none_match, if_none_match);
  }
  return req;
}

TEST(StaticAssetsTest, ContentTypes) {
  EXPECT_EQ(StaticAssets::ContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(StaticAssets::ContentType("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(StaticAssets::ContentType("app.js"), "application/javascript; charset=utf-8");
  EXPECT_EQ(StaticAssets::ContentType("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(StaticAssets::ContentType("data.json"), "application/json");
  EXPECT_EQ(StaticAssets::ContentType("README"), "application/octet-stream");
  EXPECT_EQ(StaticAssets::ContentType("app.js.map"), "application/octet-stream");
}

TEST(StaticAssetsTest, ServesBytesWithTypeAndStrongEtag) {
  const std::vector<EmbeddedFile> files = {{"a.txt", kHello, sizeof(kHello)},
                                           {"empty.css", kEmpty, 0}};
  const StaticAssets assets(files);
  ASSERT_EQ(assets.size(), 2u);
  const Response res = assets.Serve(Get("/ui/a.txt"), "a.txt");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "hi!");
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res[http::field::cache_control], "no-cache");
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_TRUE(std::regex_match(std::string(res[http::field::etag]), std::regex("\"[0-9a-f]{16}\"")))
      << res[http::field::etag];
  // Only HTML carries the content security policy.
  EXPECT_EQ(res.count("Content-Security-Policy"), 0u);
  const Response empty = assets.Serve(Get("/ui/empty.css"), "empty.css");
  EXPECT_EQ(empty.result_int(), 200);
  EXPECT_EQ(empty.body(), "");
  // Different content, different tag.
  EXPECT_NE(empty[http::field::etag], res[http::field::etag]);
}

TEST(StaticAssetsTest, IfNoneMatchAnswers304WithoutBody) {
  const std::vector<EmbeddedFile> files = {{"a.txt", kHello, sizeof(kHello)}};
  const StaticAssets assets(files);
  const std::string etag(assets.Find("a.txt")->etag);
  for (const std::string& header :
       {etag, "W/" + etag, "\"other\", " + etag, std::string("*"), " " + etag + " "}) {
    const Response res = assets.Serve(Get("/ui/a.txt", header), "a.txt");
    EXPECT_EQ(res.result_int(), 304) << header;
    EXPECT_EQ(res.body(), "") << header;
    EXPECT_EQ(res[http::field::etag], etag);
  }
  for (const std::string& header : {std::string("\"other\""), etag.substr(1), std::string(",")}) {
    EXPECT_EQ(assets.Serve(Get("/ui/a.txt", header), "a.txt").result_int(), 200) << header;
  }
}

TEST(StaticAssetsTest, UnknownNameIs404InTheApiErrorShape) {
  const std::vector<EmbeddedFile> files = {{"a.txt", kHello, sizeof(kHello)}};
  const StaticAssets assets(files);
  const Response res = assets.Serve(Get("/ui/b.txt"), "b.txt");
  EXPECT_EQ(res.result_int(), 404);
  const auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["code"], "not_found");
  EXPECT_NE(body["message"].get<std::string>().find("b.txt"), std::string::npos);
}

// Every file of cmake/web_assets.cmake is compiled in, byte for byte, and every /ui/ file that
// index.html or a script refers to exists.
TEST(StaticAssetsTest, EmbedsEveryWebFileAndNothingDangles) {
  const StaticAssets& web = StaticAssets::Web();
  std::set<std::string> names;
  const std::string list = FLYWHEEL_WEB_FILES;  // "index.html,style.css,..." (CMake)
  for (size_t start = 0; start < list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, comma - start);
    start = comma + 1;
    names.insert(name);
    const StaticAssets::Asset* asset = web.Find(name);
    ASSERT_NE(asset, nullptr) << name;
    std::ifstream in(std::string(FLYWHEEL_WEB_DIR) + "/" + name, std::ios::binary);
    const std::string disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(asset->body == disk) << name << ": the compiled-in bytes differ from web/" << name;
  }
  EXPECT_EQ(web.size(), names.size());
  const std::regex ref(R"((?:/ui/|\./)([A-Za-z0-9._-]+\.(?:js|css|svg)))");
  int refs = 0;
  for (const std::string& name : names) {
    const std::string& body = web.Find(name)->body;
    for (std::sregex_iterator it(body.begin(), body.end(), ref), end; it != end; ++it) {
      EXPECT_TRUE(names.count((*it)[1].str())) << name << " refers to " << (*it)[0].str();
      ++refs;
    }
  }
  EXPECT_GT(refs, 10);  // the page's scripts, style sheet and modules were all seen
}

class WebRoutesTest : public test::ServerFixture {};

TEST_F(WebRoutesTest, DashboardNeedsNoKeyButItsDataRoutesDo) {
  StartReady(ApiKeys{"read-key", "write-key", "admin-key"});
  Client c(port());
  Reply index = c.Send(http::verb::get, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(index.text.find("<title>Flywheel dashboard</title>"), std::string::npos);
  EXPECT_NE(index.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  Reply js = c.Send(http::verb::get, "/ui/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["content-type"], "application/javascript; charset=utf-8");
  EXPECT_EQ(c.Send(http::verb::get, "/ui/style.css").headers.at("content-type"),
            "text/css; charset=utf-8");
  // Revalidation over HTTP: 304 with the same tag, keep-alive intact.
  const Reply again =
      c.Send(http::verb::get, "/ui/app.js", "", "", {{"If-None-Match", js.headers["etag"]}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.text, "");
  EXPECT_EQ(c.Send(http::verb::get, "/ui/nosuch.js").status, 404);
  EXPECT_EQ(c.Send(http::verb::get, "/ui/../index.html").status, 404);
  EXPECT_EQ(c.Send(http::verb::post, "/").status, 405);
  // The page's data stays behind the keys.
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats").status, 401);
  EXPECT_EQ(c.Send(http::verb::get, "/v1/stats", "", "read-key").status, 200);
}

}  // namespace
}  // namespace flywheel::server
