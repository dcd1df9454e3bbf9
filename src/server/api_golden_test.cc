// Golden API tests: request -> expected JSON for every implemented route of doc/http_api.md,
// over a real server (server_test_fixture.h). Inputs are deterministic; fields that vary (request
// ids, timings) are pinned through X-Request-Id or checked by type only.
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using test::Client;
using test::EventsBody;
using test::Reply;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ApiGoldenTest : public test::ServerFixture {};

json ErrorJson(const std::string& code, const std::string& message, const json& field = nullptr) {
  return {{"code", code}, {"message", message}, {"field", field}};
}

TEST_F(ApiGoldenTest, HealthzAndReadyz) {
  StartServer({});
  Client c(port());
  Reply r = c.Send(http::verb::get, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"status", "ok"}}));
  EXPECT_EQ(r.headers["content-type"], "application/json");
  r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, json({{"status", "recovering"}}));
  api_->SetEngine(engine_.get());
  r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"status", "ready"}, {"last_seq", 0}}));
}

TEST_F(ApiGoldenTest, EventsAcceptedAndDuplicates) {
  StartReady();
  Client c(port());
  Reply r = c.Send(http::verb::post, "/v1/events", EventsBody(3));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, json({{"accepted", 3},
                          {"duplicates", 0},
                          {"impressions", 0},
                          {"first_seq", 1},
                          {"last_seq", 3}}));
  r = c.Send(http::verb::post, "/v1/events", EventsBody(3, 1));  // e1, e2 repeat
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, json({{"accepted", 1},
                          {"duplicates", 2},
                          {"impressions", 0},
                          {"first_seq", 4},
                          {"last_seq", 4}}));
  r = c.Send(http::verb::post, "/v1/events", R"({"events": []})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, json({{"accepted", 0},
                          {"duplicates", 0},
                          {"impressions", 0},
                          {"first_seq", 0},
                          {"last_seq", 4}}));
  r = c.Send(http::verb::get, "/readyz");
  EXPECT_EQ(r.body, json({{"status", "ready"}, {"last_seq", 4}}));
}

TEST_F(ApiGoldenTest, PerEventErrorsNameIndexAndField) {
  StartReady();
  Client c(port());
  json batch = json::parse(EventsBody(6));
  batch["events"][1].erase("ts");
  batch["events"][3]["usr"] = "u1";
  batch["events"][4]["value"] = "high";
  batch["events"][5]["type"] = "teleport";
  Reply r = c.Send(http::verb::post, "/v1/events", batch.dump());
  ASSERT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["code"], "invalid_argument");
  EXPECT_EQ(r.body["field"], "events[1].ts");
  EXPECT_THAT(r.body["message"].get<std::string>(), StartsWith("event 1: "));
  ASSERT_EQ(r.body["errors"].size(), 4u) << r.text;
  const std::vector<std::pair<int, std::string>> expected = {
      {1, "ts"}, {3, "usr"}, {4, "value"}, {5, "type"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const json& e = r.body["errors"][i];
    EXPECT_EQ(e["index"], expected[i].first) << e;
    EXPECT_EQ(e["field"], expected[i].second) << e;
    EXPECT_FALSE(e["message"].get<std::string>().empty()) << e;
  }
  EXPECT_EQ(engine_->stats().last_seq, 0u);  // the batch is rejected whole
}

TEST_F(ApiGoldenTest, BatchLevelErrors) {
  ApiLimits limits;
  limits.max_events_per_batch = 2;
  StartReady({}, {}, limits);
  Client c(port());
  const std::vector<std::pair<std::string, json>> cases = {
      {"{not json", ErrorJson("invalid_argument", "body is not valid JSON")},
      {"", ErrorJson("invalid_argument", "body is not valid JSON")},
      {R"({"events": 5})",
       ErrorJson("invalid_argument", R"(expected {"events": [...]})", "events")},
      {"[]", ErrorJson("invalid_argument", R"(expected {"events": [...]})", "events")},
      {R"({"event": []})",
       ErrorJson("invalid_argument", R"(expected {"events": [...]})", "events")},
      {EventsBody(3), ErrorJson("invalid_argument", "more than 2 events in one batch", "events")},
      {"{\"events\":" + std::string(33, '[') + std::string(33, ']') + "}",
       ErrorJson("invalid_argument", "JSON nested deeper than 32")},
  };
  for (const auto& [body, want] : cases) {
    Reply r = c.Send(http::verb::post, "/v1/events", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body, want) << body;
  }
}

TEST_F(ApiGoldenTest, RecommendationsShape) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10'000));
  // pop: i0..i5 have 5 events each, i6..i10 have 4; u3 viewed i3, i10, i6, i2, i9, i5, i1, i8.
  Reply r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=3&model=pop", "", "",
                   {{"X-Request-Id", "golden-1"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.headers["x-request-id"], "golden-1");
  EXPECT_EQ(r.body["request_id"], "golden-1");
  EXPECT_EQ(r.body["model_version"], "pop@50");
  EXPECT_EQ(r.body["known_user"], true);
  EXPECT_EQ(r.body["policy"], "greedy");
  EXPECT_THAT(r.body["recommendation_id"].get<std::string>(),
              ::testing::MatchesRegex("[0-9a-f]{16}"));
  EXPECT_FALSE(r.body.contains("impression_seq"));  // fetched, not recorded
  ASSERT_EQ(r.body["items"].size(), 3u) << r.text;
  std::set<std::string> seen_by_u3;
  for (int i = 3; i < 50; i += 7) {
    seen_by_u3.insert("i" + std::to_string(i % 11));
  }
  double previous = INFINITY;
  for (const json& item : r.body["items"]) {
    std::set<std::string> keys;
    for (const auto& [key, value] : item.items()) {
      keys.insert(key);
    }
    keys.erase("exploration");  // present (true) only on exploration slots
    EXPECT_EQ(keys, (std::set<std::string>{"id", "score", "reason", "propensity"})) << item;
    EXPECT_EQ(item["propensity"], 1.0);  // greedy
    EXPECT_TRUE(item["id"].is_string());
    EXPECT_EQ(seen_by_u3.count(item["id"].get<std::string>()), 0u) << item;  // exclude_seen
    EXPECT_TRUE(item["score"].is_number());
    if (item.contains("exploration")) {
      EXPECT_EQ(item["exploration"], true);
      EXPECT_EQ(item["reason"], "new");  // a new item without categories
      continue;
    }
    EXPECT_LE(item["score"].get<double>(), previous);  // best first
    previous = item["score"].get<double>();
    EXPECT_EQ(item["reason"], "popular now");  // pop does not personalise
  }
  // Unknown user: popular items, known_user false; k defaults to 10 (11 items exist).
  r = c.Send(http::verb::get, "/v1/users/nobody/recommendations?model=pop", "", "",
             {{"X-Request-Id", "golden-2"}});
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["known_user"], false);
  EXPECT_EQ(r.body["request_id"], "golden-2");
  ASSERT_EQ(r.body["items"].size(), 10u);
  for (int i = 0; i < 6; ++i) {  // the six items with 5 events come first
    EXPECT_EQ(r.body["items"][i]["reason"], "popular now");
    EXPECT_THAT(r.body["items"][i]["id"].get<std::string>(), StartsWith("i"));
  }
  EXPECT_GT(r.body["items"][5]["score"].get<double>(), r.body["items"][6]["score"].get<double>());
  // Without X-Request-Id the server generates one and repeats it in the body.
  r = c.Send(http::verb::get, "/v1/users/u3/recommendations?exclude_seen=false&k=11");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["items"].size(), 11u);
  EXPECT_FALSE(r.headers["x-request-id"].empty());
  EXPECT_EQ(r.body["request_id"], r.headers["x-request-id"]);
  EXPECT_EQ(r.body["model_version"], "pop@50");  // the first configured model
}

TEST_F(ApiGoldenTest, RecommendationQueryErrors) {
  StartReady();
  Client c(port());
  const std::string base = "/v1/users/u1/recommendations?";
  for (const std::string k : {"0", "-1", "1001", "abc", "", "99999999999999999999", "5%00", "%205",
                              "+5", "5.0", "0x10"}) {
    Reply r = c.Send(http::verb::get, base + "k=" + k);
    EXPECT_EQ(r.status, 400) << k;
    EXPECT_EQ(r.body,
              ErrorJson("invalid_argument", "field 'k': must be an integer in 1..1000", "k"))
        << k;
  }
  EXPECT_EQ(c.Send(http::verb::get, base + "k=1000").status, 200);
  Reply r = c.Send(http::verb::get, base + "exclude_seen=maybe");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "exclude_seen");
  r = c.Send(http::verb::get, base + "model=nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["code"], "invalid_argument");
  EXPECT_EQ(r.body["field"], "model");  // the engine's error carries the field as data
  r = c.Send(http::verb::get, base + "k=%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, ErrorJson("invalid_argument", "bad percent-escape in URL"));
  // A category nothing is in: no items.
  r = c.Send(http::verb::get, base + "categories=comedy");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body["items"].empty());
  r = c.Send(http::verb::get, base + "categories=,");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "categories");
  EXPECT_EQ(c.Send(http::verb::get, base + "explain=false").status, 200);
  EXPECT_EQ(c.Send(http::verb::get, base + "explain=maybe").status, 400);
  r = c.Send(http::verb::get, base + "policy=nonsense");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "policy");
  EXPECT_EQ(c.Send(http::verb::get, base + "policy=").status, 400);
  EXPECT_EQ(c.Send(http::verb::get, base + "policy=greedy").status, 200);
  r = c.Send(http::verb::get, base + "record_impression=perhaps");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "record_impression");
}

// POST /v1/impressions and the recommend route's record_impression (doc/http_api.md).
TEST_F(ApiGoldenTest, ImpressionsRecordedOnceWithClearErrors) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(50)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(50, 10'000));
  Reply r = c.Send(http::verb::get, "/v1/users/u3/recommendations?k=3&model=pop&explain=true");
  ASSERT_EQ(r.status, 200) << r.text;
  const std::string id = r.body["recommendation_id"];
  EXPECT_EQ(r.body["items"][0]["step"], 1.0);
  const std::string second = r.body["items"][1]["id"];
  // A partly shown list: the served subset, at its served position.
  r = c.Send(
      http::verb::post, "/v1/impressions",
      json({{"user", "u3"}, {"recommendation_id", id}, {"items", json::array({second})}}).dump());
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.body, json({{"seq", 51}, {"duplicate", false}, {"items", 1}, {"from_cache", true}}));
  r = c.Send(http::verb::post, "/v1/impressions",
             json({{"user", "u3"}, {"recommendation_id", id}}).dump());
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, json({{"seq", 0}, {"duplicate", true}, {"items", 0}, {"from_cache", false}}));
  // Unknown id without items: 404; an explicit list with an unknown item: 400 naming it.
  r = c.Send(http::verb::post, "/v1/impressions",
             R"({"user": "u3", "recommendation_id": "0000000000000000"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["field"], "recommendation_id");
  r = c.Send(http::verb::post, "/v1/impressions", R"({"user": "u3", "items": ["i1", "ghost"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["field"], "items[1]");
  r = c.Send(http::verb::post, "/v1/impressions", R"({"user": "u3", "items": ["i1", "i2"]})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, json({{"seq", 52}, {"duplicate", false}, {"items", 2}, {"from_cache", false}}));
  // Shape errors name the field; unknown fields are refused.
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"items": ["i1"]})", "user"},
           {R"({"user": "u3"})", "recommendation_id"},
           {R"({"user": "u3", "items": []})", "items"},
           {R"({"user": "u3", "items": [1]})", "items[0]"},
           {R"({"user": "u3", "items": ["i1"], "ts": true})", "ts"},
           {R"({"user": "u3", "items": ["i1"], "shown": 1})", "shown"},
           {R"({"impressions": [{"user": "u3", "items": ["i1"]}, {"user": 5}]})",
            "impressions[1].user"},
           {R"({"impressions": []})", "impressions"},
       }) {
    r = c.Send(http::verb::post, "/v1/impressions", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body["field"], field) << body << r.text;
  }
  EXPECT_EQ(engine_->stats().last_seq, 52u);  // nothing logged by the refusals
  // A batch: one answer per entry, a refused entry's error in its place.
  r = c.Send(http::verb::post, "/v1/impressions",
             R"({"impressions": [{"user": "u3", "items": ["i4"], "ts": "2023-11-14T22:13:20Z"},)"
             R"( {"user": "u3", "recommendation_id": "0000000000000001"}]})");
  ASSERT_EQ(r.status, 202) << r.text;
  ASSERT_EQ(r.body["impressions"].size(), 2u);
  EXPECT_EQ(r.body["impressions"][0]["seq"], 53);
  EXPECT_EQ(r.body["impressions"][1]["error"]["code"], "not_found");
  EXPECT_EQ(r.body["impressions"][1]["error"]["field"], "impressions[1].recommendation_id");
  // record_impression: logged before the answer; an event naming the list logs nothing more.
  r = c.Send(http::verb::get, "/v1/users/u4/recommendations?k=2&record_impression=true");
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.body["impression_seq"], 54);
  const json click = {{"user", "u4"},
                      {"item", r.body["items"][0]["id"]},
                      {"type", "click"},
                      {"ts", 1700000000000},
                      {"recommendation_id", r.body["recommendation_id"]}};
  r = c.Send(http::verb::post, "/v1/events", json({{"events", json::array({click})}}).dump());
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.body["impressions"], 0);
  EXPECT_EQ(r.body["first_seq"], 55);
}

TEST_F(ApiGoldenTest, StatsFields) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(20)).status, 202);
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(5)).status, 202);  // 5 duplicates
  ASSERT_OK(engine_->WaitForApplied(20, 10'000));
  ASSERT_TRUE(WaitForFreshness(20));
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u1/recommendations").status, 200);
  Reply r = c.Send(http::verb::get, "/v1/stats");
  ASSERT_EQ(r.status, 200) << r.text;
  const json& s = r.body;
  EXPECT_EQ(s["events"], 20);
  EXPECT_EQ(s["last_seq"], 20);
  EXPECT_EQ(s["durable_seq"], 20);
  EXPECT_EQ(s["applied_seq"], 20);
  EXPECT_EQ(s["users"], 7);
  EXPECT_EQ(s["items"], 11);
  EXPECT_EQ(s["duplicates"], 5);
  EXPECT_EQ(s["snapshot_seq"], 0);
  EXPECT_EQ(s["models"], json({"pop", "itemknn"}));
  // The recovery report of a fresh directory: nothing replayed, cut, skipped or refused.
  const json& recovery = s["recovery"];
  EXPECT_EQ(recovery["snapshot_seq"], 0) << r.text;
  EXPECT_EQ(recovery["replayed_events"], 0);
  EXPECT_TRUE(recovery["torn_tail"].is_null());
  EXPECT_EQ(recovery["skipped"], json::array());
  EXPECT_EQ(recovery["lost_events"], 0);
  EXPECT_EQ(recovery["snapshots_refused"], json::array());
  ASSERT_TRUE(s["latency_ms"].is_object()) << r.text;
  for (const std::string route : {"events", "recommendations", "ingest"}) {
    ASSERT_TRUE(s["latency_ms"].contains(route)) << route << " " << r.text;
    EXPECT_TRUE(s["latency_ms"][route]["p50"].is_number()) << route;
    EXPECT_TRUE(s["latency_ms"][route]["p99"].is_number()) << route;
    EXPECT_GE(s["latency_ms"][route]["p99"].get<double>(),
              s["latency_ms"][route]["p50"].get<double>());
  }
  EXPECT_EQ(s["latency_ms"]["events"]["count"], 2);
  EXPECT_TRUE(s["freshness_ms"]["p50"].is_number());
  EXPECT_TRUE(s["freshness_ms"]["p99"].is_number());
  EXPECT_EQ(s["freshness_ms"]["count"], 20);
}

// Checks the Prometheus text exposition format (0.0.4): HELP/TYPE comment lines, samples
// `name{label="value",...} value`, one TYPE per family declared before its samples, histogram
// buckets cumulative with le="+Inf" equal to _count. Fills `families`: name -> type.
void CheckPrometheusText(const std::string& text, std::map<std::string, std::string>* families) {
  std::map<std::string, std::string>& types = *families;
  std::map<std::string, double> inf_bucket;
  std::map<std::string, double> counts;
  std::map<std::string, double> last_bucket;
  const auto valid_name = [](const std::string& name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
      return false;
    }
    for (char ch : name) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != ':') {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(!text.empty() && text.back() == '\n') << "must end with a newline";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty()) << "empty line";
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name;
      std::string type;
      words >> name >> type;
      EXPECT_TRUE(valid_name(name)) << line;
      EXPECT_THAT((std::set<std::string>{"counter", "gauge", "histogram", "summary", "untyped"}),
                  ::testing::Contains(type))
          << line;
      EXPECT_EQ(types.count(name), 0u) << "second TYPE for " << name;
      types[name] = type;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0 || line[0] == '#') {
      continue;
    }
    const size_t name_end = line.find_first_of("{ ");
    ASSERT_NE(name_end, std::string::npos) << line;
    const std::string name = line.substr(0, name_end);
    EXPECT_TRUE(valid_name(name)) << line;
    std::string labels;
    size_t value_start = name_end + 1;
    if (line[name_end] == '{') {
      const size_t close = line.find("} ", name_end);
      ASSERT_NE(close, std::string::npos) << line;
      labels = line.substr(name_end + 1, close - name_end - 1);
      value_start = close + 2;
      // label="value" pairs, comma separated.
      size_t at = 0;
      while (at < labels.size()) {
        const size_t eq = labels.find("=\"", at);
        ASSERT_NE(eq, std::string::npos) << line;
        EXPECT_TRUE(valid_name(labels.substr(at, eq - at))) << line;
        size_t end = eq + 2;
        while (end < labels.size() && labels[end] != '"') {
          end += labels[end] == '\\' ? 2 : 1;
        }
        ASSERT_LT(end, labels.size()) << line;
        at = end + 1;
        if (at < labels.size()) {
          EXPECT_EQ(labels[at], ',') << line;
          ++at;
        }
      }
    }
    const std::string value_text = line.substr(value_start);
    double value = 0;
    if (value_text == "+Inf") {
      value = INFINITY;
    } else {
      char* end = nullptr;
      value = std::strtod(value_text.c_str(), &end);
      EXPECT_TRUE(!value_text.empty() && *end == '\0') << "bad value in: " << line;
    }
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (types.count(name) == 0 && name.size() > s.size() &&
          name.compare(name.size() - s.size(), s.size(), s) == 0) {
        family = name.substr(0, name.size() - s.size());
      }
    }
    EXPECT_EQ(types.count(family), 1u) << "sample before its TYPE: " << line;
    if (types[family] != "histogram") {
      continue;
    }
    std::string series = labels;  // the labels without le
    if (const size_t le = labels.find("le=\""); le != std::string::npos) {
      const size_t end = labels.find('"', le + 4);
      const std::string bound = labels.substr(le + 4, end - le - 4);
      series = family + "{" + labels.substr(0, le) + labels.substr(end + 1) + "}";
      EXPECT_GE(value, last_bucket[series]) << "buckets must be cumulative: " << line;
      last_bucket[series] = value;
      if (bound == "+Inf") {
        inf_bucket[series] = value;
      }
    } else if (name == family + "_count") {
      std::string clean = labels;
      if (!clean.empty() && clean.back() == ',') {
        clean.pop_back();
      }
      counts[family + "{" + (clean.empty() ? "" : clean + ",") + "}"] = value;
    }
  }
  EXPECT_EQ(inf_bucket.size(), counts.size()) << "each histogram has +Inf bucket and _count";
  for (const auto& [series, count] : counts) {
    ASSERT_EQ(inf_bucket.count(series), 1u) << series << " has no le=\"+Inf\" bucket";
    EXPECT_EQ(inf_bucket[series], count) << series;
  }
}

TEST_F(ApiGoldenTest, MetricsIsValidPrometheusText) {
  StartReady();
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(10)).status, 202);
  ASSERT_OK(engine_->WaitForApplied(10, 10'000));
  ASSERT_TRUE(WaitForFreshness(10));
  ASSERT_EQ(c.Send(http::verb::get, "/v1/users/u1/recommendations").status, 200);
  ASSERT_EQ(c.Send(http::verb::get, "/nowhere").status, 404);
  Reply r = c.Send(http::verb::get, "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.headers["content-type"], StartsWith("text/plain; version=0.0.4"));
  std::map<std::string, std::string> types;
  CheckPrometheusText(r.text, &types);
  // The families doc/http_api.md promises, with their types.
  const std::map<std::string, std::string> documented = {
      {"flywheel_events_total", "counter"},
      {"flywheel_last_seq", "gauge"},
      {"flywheel_applied_seq", "gauge"},
      {"flywheel_users", "gauge"},
      {"flywheel_items", "gauge"},
      {"flywheel_request_seconds", "histogram"},
      {"flywheel_freshness_seconds", "histogram"},
      {"flywheel_ingest_ack_seconds", "histogram"},
      {"flywheel_recovery_replayed_events", "gauge"},
      {"flywheel_recovery_torn_tail_bytes", "gauge"},
      {"flywheel_recovery_skipped_bytes", "gauge"},
      {"flywheel_recovery_lost_events", "gauge"},
      {"flywheel_recovery_snapshots_refused", "gauge"},
  };
  for (const auto& [name, type] : documented) {
    ASSERT_EQ(types.count(name), 1u) << name << " missing:\n" << r.text;
    EXPECT_EQ(types.at(name), type) << name;
  }
  EXPECT_THAT(r.text, HasSubstr("\nflywheel_last_seq 10\n"));
  EXPECT_THAT(r.text, HasSubstr("\nflywheel_users 7\n"));
  EXPECT_THAT(r.text, HasSubstr("\nflywheel_items 10\n"));
  EXPECT_THAT(r.text, HasSubstr("\nflywheel_freshness_seconds_count 10\n"));
  // Before recovery finished: still valid text, flywheel_ready 0.
  api_->SetEngine(nullptr);
  r = c.Send(http::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200);
  types.clear();
  CheckPrometheusText(r.text, &types);
  EXPECT_THAT(r.text, HasSubstr("\nflywheel_ready 0\n"));
}

TEST_F(ApiGoldenTest, UnknownRoutesAndWrongMethods) {
  StartReady();
  Client c(port());
  // "/" is the dashboard (static_assets_test.cc); "/ui/" without a file name is no route.
  for (const std::string path :
       {"/nowhere", "/ui/", "/ui/a/b.js", "/v1/nothing", "/v2/events", "/v1/admin/x"}) {
    Reply r = c.Send(http::verb::get, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, ErrorJson("not_found", "no route " + path)) << path;
  }
  const std::vector<std::pair<http::verb, std::string>> wrong = {
      {http::verb::get, "/v1/events"},         {http::verb::put, "/v1/events"},
      {http::verb::get, "/v1/admin/snapshot"}, {http::verb::post, "/v1/stats"},
      {http::verb::delete_, "/v1/stats"},      {http::verb::post, "/v1/users/u1/recommendations"},
      {http::verb::post, "/healthz"},          {http::verb::delete_, "/readyz"},
      {http::verb::put, "/metrics"},           {http::verb::post, "/v1/items/i1"},
      {http::verb::post, "/v1/users/u1"},      {http::verb::delete_, "/v1/items/i1/similar"},
  };
  for (const auto& [verb, path] : wrong) {
    Reply r = c.Send(verb, path);
    EXPECT_EQ(r.status, 405) << verb << " " << path;
    EXPECT_EQ(r.body, ErrorJson("method_not_allowed", "method not allowed on " + path))
        << verb << " " << path;
  }
}

TEST_F(ApiGoldenTest, SnapshotAndRequestIds) {
  StartReady(ApiKeys{"rk", "wk", "ak"});
  Client c(port());
  ASSERT_EQ(c.Send(http::verb::post, "/v1/events", EventsBody(4), "wk").status, 202);
  ASSERT_OK(engine_->WaitForApplied(4, 10'000));  // a snapshot holds the applied state
  Reply r = c.Send(http::verb::post, "/v1/admin/snapshot", "", "ak");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"snapshot_seq", 4}}));
  // X-Request-Id: echoed when it is a short printable token, else replaced by a generated one.
  r = c.Send(http::verb::get, "/healthz", "", "", {{"X-Request-Id", "abc-123_x.y:z"}});
  EXPECT_EQ(r.headers["x-request-id"], "abc-123_x.y:z");
  for (const std::string& bad :
       {std::string(129, 'a'), std::string("a b"), std::string("\xff\xfe"), std::string("a\"b")}) {
    r = c.Send(http::verb::get, "/healthz", "", "", {{"X-Request-Id", bad}});
    EXPECT_EQ(r.status, 200);
    EXPECT_THAT(r.headers["x-request-id"], StartsWith("r-")) << bad;
  }
}

}  // namespace
}  // namespace flywheel::server
