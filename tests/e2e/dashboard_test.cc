// The dashboard's server API through a real `flywheel serve` process: the history sampler
// thread fills GET /v1/stats/history every 2 s, the dashboard routes answer, and SIGTERM stops
// the server (sampler included) cleanly with exit code 0.
#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "client/http_client.h"
#include "serve_process.h"
#include "testing/status_matchers.h"

namespace flywheel::e2e {
namespace {

using nlohmann::json;

json GetJson(client::HttpClient& http, const std::string& target, int* status) {
  Result<client::Response> r = http.Get(target);
  EXPECT_OK(r.status());
  if (!r.ok()) {
    *status = 0;
    return json();
  }
  *status = r->status;
  return json::parse(r->body, nullptr, false);
}

TEST(DashboardE2eTest, HistorySamplerFillsAndStopsCleanly) {
  testing::TempDir dir;
  Server server(dir.path(), "itemknn");
  ASSERT_FALSE(server.url().empty());
  Result<client::Url> url = client::ParseUrl(server.url());
  ASSERT_OK(url.status());
  client::ClientOptions options;
  options.host = url->host;
  options.port = url->port;
  client::HttpClient http(options);
  json events = json::array();
  for (int i = 0; i < 60; ++i) {
    events.push_back({{"user", "u" + std::to_string(i % 6)},
                      {"item", "i" + std::to_string(i % 13)},
                      {"type", "click"},
                      {"ts", 1700000000000LL + i}});
  }
  Result<client::Response> posted = http.Post("/v1/events", json{{"events", events}}.dump());
  ASSERT_OK(posted.status());
  ASSERT_EQ(posted->status, 202) << posted->body;
  int status = 0;
  // The sampler's first sample comes one interval (2 s) after start; wait for two.
  json history;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    history = GetJson(http, "/v1/stats/history", &status);
    ASSERT_EQ(status, 200);
  } while (history["t"].size() < 2 && std::chrono::steady_clock::now() < deadline);
  ASSERT_GE(history["t"].size(), 2u) << history.dump();
  EXPECT_EQ(history["interval_s"], 2);
  const int64_t step = history["t"][1].get<int64_t>() - history["t"][0].get<int64_t>();
  EXPECT_GE(step, 1500);  // about every 2 s (a loaded machine may stretch it)
  for (const char* key : {"events_per_s", "recommendations_per_s", "recommend_p50_ms",
                          "recommend_p99_ms", "freshness_p99_ms", "live_hr10"}) {
    EXPECT_EQ(history[key].size(), history["t"].size()) << key;
  }
  const json stats = GetJson(http, "/v1/stats", &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(stats["model_versions"][0]["name"], "itemknn");
  EXPECT_GT(stats["storage"]["log_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(GetJson(http, "/v1/users/u1", &status)["events"], 10);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(GetJson(http, "/v1/items/i1", &status)["id"], "i1");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace flywheel::e2e
