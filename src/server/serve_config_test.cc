// ServeConfig: every error path names the key; defaults equal the option structs'; precedence
// flag > env > file > default; doc/config.md equals the table.
#include "server/serve_config.h"

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::server {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

Status Merge(const std::string& text) {
  ServeConfig config;
  return config.MergeJson(text, "test.json");
}

// A config with a data directory, ready to Build.
ServeConfig WithDataDir() {
  ServeConfig config;
  EXPECT_OK(config.MergeText("data_dir", {"/tmp/x"}, ConfigSource::kFlag));
  return config;
}

// Issue 17 item 7: every refusal names --skip-corruption; serve accepts it (flag, file, env).
TEST(ServeConfigTest, SkipCorruptionFromFlagFileAndErrors) {
  ServeConfig flag = WithDataDir();
  ASSERT_OK(flag.MergeText("skip_corruption", {""}, ConfigSource::kFlag));  // --skip-corruption
  auto built = flag.Build();
  ASSERT_OK(built);
  EXPECT_TRUE(built->engine.skip_corruption);
  ServeConfig file = WithDataDir();
  ASSERT_OK(file.MergeJson(R"({"skip_corruption": true})", "c.json"));
  EXPECT_TRUE(file.Build()->engine.skip_corruption);
  ServeConfig bad = WithDataDir();
  EXPECT_THAT(bad.MergeJson(R"({"skip_corruption": 1})", "c.json"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("skip_corruption")));
  EXPECT_THAT(bad.MergeText("skip_corruption", {"maybe"}, ConfigSource::kEnv),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("skip_corruption")));
}

TEST(ServeConfigTest, DefaultsEqualTheOptionStructs) {
  auto built = WithDataDir().Build();
  ASSERT_OK(built);
  const EngineOptions e;
  const PipelineOptions& p = built->engine.pipeline;
  EXPECT_EQ(built->engine.durability, e.durability);
  EXPECT_EQ(built->engine.snapshot_every, e.snapshot_every);
  EXPECT_EQ(built->engine.snapshot_interval_ms, e.snapshot_interval_ms);
  EXPECT_EQ(built->engine.keep_snapshots, e.keep_snapshots);
  EXPECT_EQ(built->engine.skip_corruption, e.skip_corruption);
  EXPECT_EQ(built->engine.event_types, e.event_types);
  EXPECT_TRUE(built->engine.models.empty());
  EXPECT_EQ(p.candidates, e.pipeline.candidates);
  EXPECT_EQ(p.neighbour_seeds, e.pipeline.neighbour_seeds);
  EXPECT_EQ(p.neighbours_per_seed, e.pipeline.neighbours_per_seed);
  EXPECT_EQ(p.trending_candidates, e.pipeline.trending_candidates);
  EXPECT_EQ(p.content_candidates, e.pipeline.content_candidates);
  EXPECT_EQ(p.exploration, e.pipeline.exploration);
  EXPECT_EQ(p.new_item_window_ms, e.pipeline.new_item_window_ms);
  EXPECT_EQ(p.exclude_categories, e.pipeline.exclude_categories);
  EXPECT_EQ(p.max_per_category, e.pipeline.max_per_category);
  EXPECT_EQ(p.ann, e.pipeline.ann);
  EXPECT_EQ(p.ann_min_items, e.pipeline.ann_min_items);
  const ServerOptions h;
  EXPECT_EQ(built->http.host, h.host);
  EXPECT_EQ(built->http.port, h.port);
  EXPECT_EQ(built->http.threads, h.threads);
  EXPECT_EQ(built->http.max_body_bytes, h.max_body_bytes);
  EXPECT_EQ(built->http.max_body_bytes_in_flight, h.max_body_bytes_in_flight);
  EXPECT_FALSE(built->keys.any());
  // Rate limits: none per key, 50/s (burst 100) per client address without a valid key.
  EXPECT_FALSE(built->api.key_rate.enabled());
  EXPECT_DOUBLE_EQ(built->api.ip_rate.rate_per_s, 50);
  EXPECT_DOUBLE_EQ(built->api.ip_rate.burst, 100);
}

TEST(ServeConfigTest, RateLimitsAndTheBodyBudget) {
  ServeConfig config;
  ASSERT_OK(config.MergeJson(R"({"data_dir": "/d", "max_body_bytes_in_flight": 33554432,
    "rate_limit": {"key_rps": 200, "key_burst": 50, "ip_rps": 0}})",
                             "limits.json"));
  ASSERT_OK(config.MergeText("rate_limit.key_rps", {"300"}, ConfigSource::kFlag));
  auto s = config.Build();
  ASSERT_OK(s);
  EXPECT_EQ(s->http.max_body_bytes_in_flight, 32u << 20);
  EXPECT_DOUBLE_EQ(s->api.key_rate.rate_per_s, 300);
  EXPECT_DOUBLE_EQ(s->api.key_rate.burst, 50);
  EXPECT_FALSE(s->api.ip_rate.enabled());
  // A budget below the body limit could never admit a largest body.
  ServeConfig small;
  ASSERT_OK(small.MergeJson(R"({"data_dir": "/d", "max_body_bytes_in_flight": 4096})", "x"));
  EXPECT_THAT(small.Build().status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("max_body_bytes_in_flight")));
  EXPECT_THAT(config.MergeJson(R"({"rate_limit": {"key_rps": -1}})", "neg"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("rate_limit.key_rps")));
}

TEST(ServeConfigTest, EveryKeyIsSetFromAFile) {
  ServeConfig config;
  ASSERT_OK(config.MergeJson(R"({
    "data_dir": "/d", "host": "0.0.0.0", "port": 9000, "threads": 4, "max_body_bytes": 4096,
    "keys": {"read": "r", "write": "w", "admin": "a"}, "durability": "interval:50",
    "snapshot_every": 1000, "snapshot_interval_s": 60, "keep_snapshots": 2,
    "models": "pop,itemknn",
    "params": ["itemknn.window=50"], "event_types": "wishlist=2",
    "pipeline": {"candidates": 100, "neighbour_seeds": 2, "neighbours_per_seed": 5,
                 "trending_candidates": 7, "content_candidates": 3, "exploration": 0.2,
                 "new_item_window_hours": 1.5, "exclude_categories": ["adult"],
                 "max_per_category": 2, "ann": "flat", "ann_min_items": 10}})",
                             "all.json"));
  auto s = config.Build();
  ASSERT_OK(s);
  EXPECT_EQ(s->engine.data_dir, "/d");
  EXPECT_EQ(s->http.host, "0.0.0.0");
  EXPECT_EQ(s->http.port, 9000);
  EXPECT_EQ(s->http.threads, 4);
  EXPECT_EQ(s->http.max_body_bytes, 4096u);
  EXPECT_EQ(s->keys.read, "r");
  EXPECT_EQ(s->keys.write, "w");
  EXPECT_EQ(s->keys.admin, "a");
  EXPECT_EQ(s->engine.durability, "interval:50");
  EXPECT_EQ(s->engine.snapshot_every, 1000u);
  EXPECT_EQ(s->engine.snapshot_interval_ms, 60'000u);
  EXPECT_EQ(s->engine.keep_snapshots, 2);
  ASSERT_EQ(s->engine.models.size(), 2u);
  EXPECT_EQ(s->engine.models[1].params.at("window"), "50");
  EXPECT_EQ(s->engine.event_types, "wishlist=2");
  const PipelineOptions& p = s->engine.pipeline;
  EXPECT_EQ(p.candidates, 100);
  EXPECT_EQ(p.neighbour_seeds, 2);
  EXPECT_EQ(p.neighbours_per_seed, 5);
  EXPECT_EQ(p.trending_candidates, 7);
  EXPECT_EQ(p.content_candidates, 3);
  EXPECT_DOUBLE_EQ(p.exploration, 0.2);
  EXPECT_EQ(p.new_item_window_ms, 5'400'000);
  EXPECT_EQ(p.exclude_categories, std::vector<std::string>{"adult"});
  EXPECT_EQ(p.max_per_category, 2);
  EXPECT_EQ(p.ann, "flat");
  EXPECT_EQ(p.ann_min_items, 10u);
  EXPECT_EQ(config.source("pipeline.ann"), ConfigSource::kFile);
}

TEST(ServeConfigTest, UnknownKeysAtAnyDepthAreNamedWithTheKnownOnes) {
  // Once a typo here silently turned authentication off.
  EXPECT_THAT(Merge(R"({"keys": {"admn": "x"}})"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("keys.admn: unknown key; known: read, write, admin")));
  EXPECT_THAT(Merge(R"({"pipeline": {"candidate": 5}})"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("pipeline.candidate: unknown key; known: candidates,")));
  EXPECT_THAT(Merge(R"({"treads": 5})"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("treads: unknown key; known: data_dir, host, port, threads")));
  EXPECT_THAT(Merge(R"({"pipeline": {"ann": {"deep": 1}}})"),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("pipeline.ann: expected string, got object")));
  EXPECT_THAT(Merge(R"({"data_dir": {"x": 1}})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("data_dir: expected string")));
}

TEST(ServeConfigTest, WrongTypesNameTheKey) {
  const std::map<std::string, std::string> cases = {
      {R"({"pipeline": {"candidates": "50"}})",
       "pipeline.candidates: expected integer, got string"},
      {R"({"pipeline": {"candidates": 1.5}})",
       "pipeline.candidates: expected integer, got number 1.5"},
      {R"({"port": true})", "port: expected integer, got boolean"},
      {R"({"keys": "secret"})", "keys: expected object, got string"},
      {R"({"keys": {"read": 5}})", "keys.read: expected string, got integer"},
      {R"({"pipeline": {"exploration": "a lot"}})",
       "pipeline.exploration: expected number, got string"},
      {R"({"pipeline": {"exclude_categories": "adult"}})",
       "pipeline.exclude_categories: expected array of strings, got string"},
      {R"({"pipeline": {"exclude_categories": ["a", 3]}})",
       "pipeline.exclude_categories[1]: expected string, got integer"},
      {R"({"durability": null})", "durability: expected string, got null"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT(Merge(text), StatusIs(StatusCode::kInvalidArgument, HasSubstr(message))) << text;
  }
}

TEST(ServeConfigTest, OutOfRangeAndInvalidValuesNameTheKey) {
  const std::map<std::string, std::string> cases = {
      {R"({"pipeline": {"candidates": 0}})", "pipeline.candidates: 0 is out of range [1, 10000]"},
      {R"({"pipeline": {"exploration": 0.9}})",
       "pipeline.exploration: 0.9 is out of range [0, 0.5]"},
      {R"({"port": 70000})", "port: 70000 is out of range [0, 65535]"},
      {R"({"snapshot_every": -1})", "snapshot_every: -1 is out of range"},
      {R"({"snapshot_every": 18446744073709551615})", "snapshot_every: 18446744073709551615 is"},
      {R"({"keep_snapshots": 1})", "keep_snapshots: 1 is out of range [2, 1000]"},
      {R"({"snapshot_interval_s": -5})", "snapshot_interval_s: -5 is out of range"},
      {R"({"durability": "fast"})", "durability: "},
      {R"({"durability": "interval:0"})", "durability: "},
      {R"({"event_types": "wishlist"})", "event_types: event types: expected name=weight"},
      {R"({"pipeline": {"ann": "annoy"}})",
       "pipeline.ann: expected one of hnsw, flat, none, got 'annoy'"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT(Merge(text), StatusIs(StatusCode::kInvalidArgument, HasSubstr(message))) << text;
  }
}

TEST(ServeConfigTest, NotAnObjectOrNotJson) {
  EXPECT_THAT(Merge("[1, 2]"), StatusIs(StatusCode::kInvalidArgument,
                                        HasSubstr("test.json: expected a JSON object, got array")));
  EXPECT_THAT(Merge("{\"port\": "),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("test.json: not valid JSON")));
  ServeConfig config;
  EXPECT_THAT(config.MergeFile("/nonexistent/flywheel.json"),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent/flywheel.json")));
}

TEST(ServeConfigTest, BuildChecksWhatTheEngineChecksLater) {
  ServeConfig no_dir;
  EXPECT_THAT(no_dir.Build(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("data_dir:")));

  ServeConfig models = WithDataDir();
  ASSERT_OK(models.MergeText("models", {"pop,nosuch"}, ConfigSource::kFlag));
  EXPECT_THAT(models.Build(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("models: unknown model 'nosuch'")));

  ServeConfig params = WithDataDir();
  ASSERT_OK(params.MergeJson(R"({"models": "itemknn", "params": ["itemknn.windw=5"]})", "f"));
  EXPECT_THAT(params.Build(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("params: ")));

  ServeConfig empty_models = WithDataDir();
  ASSERT_OK(empty_models.MergeJson(R"({"models": " "})", "f"));
  EXPECT_THAT(empty_models.Build(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("models: empty")));

  ServeConfig open_host = WithDataDir();
  ASSERT_OK(open_host.MergeJson(R"({"host": "0.0.0.0"})", "f"));
  EXPECT_THAT(open_host.Build(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("host: no API keys configured")));
  ASSERT_OK(open_host.MergeJson(R"({"keys": {"read": "r"}})", "f"));
  EXPECT_OK(open_host.Build());
}

TEST(ServeConfigTest, PrecedenceFlagOverEnvOverFileOverDefault) {
  ServeConfig config;
  ASSERT_OK(config.MergeJson(
      R"({"data_dir": "/file", "durability": "interval:10", "keys": {"read": "file-key"}})", "f"));
  const std::map<std::string, std::string> env = {{"FLYWHEEL_READ_KEY", "env-key"},
                                                  {"FLYWHEEL_ADMIN_KEY", ""}};
  ASSERT_OK(config.MergeEnvironment([&env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  }));
  ASSERT_OK(config.MergeText("durability", {"sync"}, ConfigSource::kFlag));
  EXPECT_EQ(config.GetString("keys.read"), "env-key");
  EXPECT_EQ(config.source("keys.read"), ConfigSource::kEnv);
  EXPECT_EQ(config.GetString("keys.admin"), "");  // an empty variable is unset
  EXPECT_EQ(config.source("keys.admin"), ConfigSource::kDefault);
  EXPECT_EQ(config.GetString("durability"), "sync");
  EXPECT_EQ(config.source("durability"), ConfigSource::kFlag);
  EXPECT_EQ(config.GetString("data_dir"), "/file");
  EXPECT_EQ(config.source("data_dir"), ConfigSource::kFile);
  EXPECT_EQ(config.source("port"), ConfigSource::kDefault);
}

TEST(ServeConfigTest, TextValuesAreParsedByTypeAndNamed) {
  ServeConfig config;
  EXPECT_THAT(config.MergeText("port", {"eighty"}, ConfigSource::kFlag),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("port: expected integer")));
  EXPECT_THAT(config.MergeText("port", {"-1"}, ConfigSource::kFlag),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("port: -1 is out of range")));
  EXPECT_THAT(config.MergeText("nosuch", {"1"}, ConfigSource::kFlag),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nosuch: unknown key")));
  ASSERT_OK(config.MergeText("params", {"bpr.dim=8", "bpr.lr=0.1"}, ConfigSource::kFlag));
  EXPECT_EQ(config.GetStrings("params").size(), 2u);
  ASSERT_OK(config.MergeText("port", {"1", "2"}, ConfigSource::kFlag));
  EXPECT_EQ(config.GetInt("port"), 2);  // a scalar takes the last value
  EXPECT_THAT(config.MergeEnvironment([](std::string_view name) -> std::optional<std::string> {
    return name == "FLYWHEEL_WRITE_KEY" ? std::optional<std::string>("w") : std::nullopt;
  }),
              StatusIs(StatusCode::kOk));
  EXPECT_EQ(config.GetString("keys.write"), "w");
}

TEST(ServeConfigTest, DescribeShowsValuesAndSourcesButNoSecrets) {
  ServeConfig config = WithDataDir();
  ASSERT_OK(
      config.MergeJson(R"({"keys": {"admin": "hunter2"}, "pipeline": {"candidates": 70}})", "f"));
  const std::string text = config.Describe();
  EXPECT_THAT(text, HasSubstr("data_dir = \"/tmp/x\"  (flag)\n"));
  EXPECT_THAT(text, HasSubstr("pipeline.candidates = 70  (file)\n"));
  EXPECT_THAT(text, HasSubstr("port = 8080  (default)\n"));
  EXPECT_THAT(text, HasSubstr("keys.admin = <set>  (file)\n"));
  EXPECT_THAT(text, HasSubstr("keys.read = <unset>  (default)\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("hunter2")));
  // One line per key of the table.
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')),
            ServeConfigKeys().size());
}

TEST(ServeConfigTest, EveryKeyHasATypeConsistentDefaultAndDoc) {
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    SCOPED_TRACE(std::string(spec.path));
    EXPECT_FALSE(spec.doc.empty());
    if (spec.type == ConfigType::kInt || spec.type == ConfigType::kDouble) {
      EXPECT_LT(spec.min, spec.max);
    }
    // The default, written into a file, passes the key's own type, range and checks.
    const std::string path(spec.path);
    const size_t dot = path.find('.');
    const std::string doc = dot == std::string::npos
                                ? "{\"" + path + "\": " + std::string(spec.fallback) + "}"
                                : "{\"" + path.substr(0, dot) + "\": {\"" + path.substr(dot + 1) +
                                      "\": " + std::string(spec.fallback) + "}}";
    ServeConfig config;
    EXPECT_OK(config.MergeJson(doc, "defaults"));
    EXPECT_EQ(config.source(spec.path), ConfigSource::kFile);
  }
}

TEST(ServeConfigDocTest, RegenerateReplacesTheBlock) {
  const std::string doc =
      "intro\n<!-- BEGIN GENERATED: flywheel serve --update-config-doc -->\nstale\n"
      "<!-- END GENERATED -->\nafter\n";
  auto regenerated = RegenerateConfigDoc(doc);
  ASSERT_OK(regenerated);
  EXPECT_THAT(*regenerated, ::testing::Not(HasSubstr("stale")));
  EXPECT_THAT(*regenerated, HasSubstr("| `keys.admin` | string | `\"\"` |"));
  EXPECT_THAT(*regenerated,
              HasSubstr("| `pipeline.candidates` | integer | `50` | [1, 10000] |  | candidates"));
  EXPECT_THAT(*regenerated, HasSubstr("<!-- END GENERATED -->\nafter\n"));
  EXPECT_EQ(*RegenerateConfigDoc(*regenerated), *regenerated);
  EXPECT_THAT(RegenerateConfigDoc("intro\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no generated block")));
  EXPECT_THAT(
      RegenerateConfigDoc("<!-- BEGIN GENERATED: flywheel serve --update-config-doc -->\nx\n"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("unterminated")));
}

// doc/config.md's key table is exactly what the table generates (tests run in the source
// directory). To update: build/release/bin/flywheel serve --update-config-doc doc/config.md
TEST(ServeConfigDocTest, CommittedDocMatchesTheTable) {
  std::ifstream in("doc/config.md");
  ASSERT_TRUE(in.good()) << "doc/config.md not found: run the test from the source directory";
  std::stringstream text;
  text << in.rdbuf();
  auto regenerated = RegenerateConfigDoc(text.str());
  ASSERT_OK(regenerated);
  EXPECT_EQ(*regenerated, text.str())
      << "doc/config.md is stale: run flywheel serve --update-config-doc doc/config.md";
}

}  // namespace
}  // namespace flywheel::server
