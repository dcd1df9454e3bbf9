// End-to-end tests of the operator's tools against real `flywheel serve` subprocesses:
// catalogue import (`import-items`, POST /v1/items:batch), structured and access logs, and
// `flywheel backup` of a live server under writes, restored.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/http_client.h"
#include "run_cli.h"
#include "serve_process.h"
#include "testing/status_matchers.h"
#include "url_client.h"

namespace flywheel {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

using e2e::RunCli;
using e2e::RunResult;
using e2e::Server;
using ::flywheel::testing::TempDir;

const std::string kSource = FLYWHEEL_SOURCE_DIR;

client::HttpClient Client(const std::string& url, const std::string& key = "") {
  return e2e::ClientFor(url, key);
}

json GetJson(client::HttpClient* http, const std::string& target) {
  Result<client::Response> res = http->Get(target);
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  return res.ok() ? json::parse(res->body, nullptr, false) : json();
}

// Polls /v1/stats until `key` reaches `value` (the learner applies asynchronously).
json WaitForStat(client::HttpClient* http, const std::string& key, uint64_t value) {
  json stats;
  for (int i = 0; i < 200; ++i) {
    stats = GetJson(http, "/v1/stats");
    if (stats.is_object() && stats.value(key, uint64_t{0}) >= value) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return stats;
}

TEST(ImportItemsTest, CsvCatalogueReachesTheServer) {
  TempDir dir;
  Server server(dir.path() + "/data", "pop");
  ASSERT_FALSE(server.url().empty());
  const RunResult run =
      RunCli("import-items --url " + server.url() + " " + kSource + "/examples/shop/items.csv");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"items\":28"));
  client::HttpClient http = Client(server.url());
  EXPECT_EQ(WaitForStat(&http, "items", 28).value("items", 0), 28);
  // The titles arrived: similar items of a tent are answered (404 for an unknown item).
  Result<client::Response> similar = http.Get("/v1/items/tent-2p/similar?k=3");
  ASSERT_OK(similar.status());
  EXPECT_EQ(similar->status, 200) << similar->body;
}

TEST(ImportItemsTest, BadLinesAreListedAndNothingIsImported) {
  TempDir dir;
  const std::string bad = dir.WriteFile("bad.csv",
                                        "id,title,categories,tags,created,price\n"
                                        "tent-2p,Tent,camping;tents,x,2026-09-01,1\n"
                                        "x1,T,camping;;tents,,,\n"
                                        "tent-2p,Again,,,,\n"
                                        "y,only,five,fields,\n"
                                        "z,Z,,,not-a-date,\n");
  Server server(dir.path() + "/data", "pop");
  ASSERT_FALSE(server.url().empty());
  const RunResult run = RunCli("import-items --url " + server.url() + " " + bad);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr(bad + ":3:categories[1]: must not be empty"));
  EXPECT_THAT(run.output, HasSubstr(bad + ":4:id: duplicate id 'tent-2p' (first on line 2)"));
  EXPECT_THAT(run.output, HasSubstr(bad + ":5: expected 6 fields, got 5"));
  EXPECT_THAT(run.output, HasSubstr(bad + ":6:created: "));
  EXPECT_THAT(run.output, HasSubstr("nothing was imported"));
  client::HttpClient http = Client(server.url());
  EXPECT_EQ(GetJson(&http, "/v1/stats").value("items", -1), 0);
}

TEST(ImportItemsTest, JsonLinesOfflineIntoADataDirectory) {
  TempDir dir;
  const std::string file = dir.WriteFile(
      "items.jsonl",
      "{\"id\": \"a\", \"title\": \"A\", \"categories\": [\"x\"], \"created\": \"2026-01-02\"}\n"
      "\n"
      "{\"id\": \"b\", \"attributes\": {\"price\": 9.5}}\n");
  const RunResult run = RunCli("import-items --data-dir " + dir.path() + "/data " + file);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"items\":2"));
  const RunResult inspect = RunCli("inspect --data-dir " + dir.path() + "/data");
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_THAT(inspect.output, HasSubstr("\"items\": 2"));
  // Both forms at once, or neither, are refused.
  EXPECT_EQ(RunCli("import-items " + file).exit_code, 2);
  const RunResult unknown = RunCli("import-items --data-dir " + dir.path() + "/d2 " +
                                   dir.WriteFile("items.txt", "id\na\n"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unknown catalogue format"));
}

TEST(ItemsBatchRouteTest, ValidatedWholeWithEveryErrorListed) {
  TempDir dir;
  Server server(dir.path() + "/data", "pop");
  ASSERT_FALSE(server.url().empty());
  client::HttpClient http = Client(server.url());
  const std::string bad = R"({"items": [{"id": "a", "title": "A"},
      {"id": "b", "title": 5},
      {"title": "no id"},
      {"id": "a", "categories": ["x"]},
      {"id": "c", "colour": "red"}]})";
  Result<client::Response> res = http.Post("/v1/items:batch", bad);
  ASSERT_OK(res.status());
  EXPECT_EQ(res->status, 400) << res->body;
  const json doc = json::parse(res->body);
  EXPECT_EQ(doc["field"], "items[1].title");
  ASSERT_EQ(doc["errors"].size(), 4u) << doc.dump();
  EXPECT_EQ(doc["errors"][0]["index"], 1);
  EXPECT_EQ(doc["errors"][1]["index"], 2);
  EXPECT_EQ(doc["errors"][1]["field"], "id");
  EXPECT_EQ(doc["errors"][2]["index"], 3);
  EXPECT_THAT(doc["errors"][2]["message"].get<std::string>(), HasSubstr("duplicate id 'a'"));
  EXPECT_EQ(doc["errors"][3]["index"], 4);
  EXPECT_EQ(GetJson(&http, "/v1/stats").value("items", -1), 0);  // nothing half-applied

  for (const char* body : {R"({"items": []})", R"({"item": []})", R"([])", R"({"items": {}})"}) {
    Result<client::Response> refused = http.Post("/v1/items:batch", body);
    ASSERT_OK(refused.status());
    EXPECT_EQ(refused->status, 400) << body;
  }
  Result<client::Response> ok =
      http.Post("/v1/items:batch", R"({"items": [{"id": "a"}, {"id": "b", "title": "B"}]})");
  ASSERT_OK(ok.status());
  EXPECT_EQ(ok->status, 202) << ok->body;
  const json ack = json::parse(ok->body);
  EXPECT_EQ(ack["items"], 2);
  EXPECT_EQ(ack["last_seq"].get<uint64_t>(), ack["first_seq"].get<uint64_t>() + 1);
  EXPECT_EQ(WaitForStat(&http, "items", 2).value("items", 0), 2);
}

}  // namespace
}  // namespace flywheel
