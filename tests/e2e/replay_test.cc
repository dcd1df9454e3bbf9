// End-to-end: `flywheel serve` as a subprocess and `flywheel replay` against it. With one event
// per POST and --wait-applied the live replay is exact test-then-train, so its HR@K must equal
// what the offline harness on the model alone (`flywheel eval --raw-model`, protocol P) computes
// on the same events (itemknn, serving pipeline without exploration).
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.h"
#include "serve_process.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using e2e::ReadJson;
using e2e::RunCli;
using e2e::RunResult;
using e2e::Server;

const std::string kGolden = std::string(FLYWHEEL_SOURCE_DIR) + "/tests/golden/";

// Runs the offline harness on the model alone (--raw-model) and the live replay on `dataset`
// with `model` and compares. (tests/e2e/eval_path_test.cc compares the replay with the default
// `flywheel eval`, which drives an engine: equal to the last digit.)
void ExpectLiveEqualsOffline(const std::string& dataset, const std::string& model, int k) {
  testing::TempDir dir;
  const std::string offline_path = dir.path() + "/offline.json";
  RunResult eval = RunCli("eval --raw-model --dataset " + dataset + " --models " + model + " --k " +
                          std::to_string(k) + " --no-progress --json " + offline_path);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const json offline = ReadJson(offline_path);
  ASSERT_TRUE(offline.is_object());

  // No exploration: for a personalised model without item vectors (itemknn) the pipeline then
  // returns the model's own top K (its candidates include the model's top 200), which is what
  // the harness scores. (pop is served as trending by the pipeline, and vector models through
  // the ANN index and the pipeline's cold-user rules, so they are not compared exactly.)
  const std::string config = dir.WriteFile("serve.json", R"({"pipeline": {"exploration": 0}})");
  Server server(dir.path() + "/data", model, config);
  ASSERT_FALSE(server.url().empty());
  const std::string live_path = dir.path() + "/live.json";
  RunResult replay =
      RunCli("replay --url " + server.url() + " --dataset " + dataset +
             " --batch 1 --wait-applied --k " + std::to_string(k) + " --json " + live_path);
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_THAT(replay.output, HasSubstr("live prequential HR@" + std::to_string(k)));
  const json live = ReadJson(live_path);
  ASSERT_TRUE(live.is_object()) << replay.output;
  EXPECT_EQ(live["events_sent"], offline["events_total"]);
  EXPECT_EQ(live["events_accepted"], offline["events_total"]);
  EXPECT_EQ(live["errors"], 0) << live["first_error"];
  EXPECT_EQ(live["stale_reads"], 0);
  EXPECT_EQ(live["filters"]["positive"], offline["filters"]["positive"]);
  EXPECT_EQ(live["events_scored"], offline["events_scored"]);
  const json& off = offline["results"][0]["metrics"];
  const json& on = live["metrics"];
  EXPECT_GE(on["hr"].get<double>(), 0.0);
  EXPECT_LE(on["hr"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(on["hr"].get<double>(), off["hr"].get<double>());
  // The same top-K sets; positions inside them may differ where scores tie (the pipeline
  // breaks ties by its own item order), so NDCG and MRR are only checked to be valid.
  for (const char* metric : {"ndcg", "mrr"}) {
    EXPECT_GE(on[metric].get<double>(), 0.0) << metric;
    EXPECT_LE(on[metric].get<double>(), on["hr"].get<double>()) << metric;
  }
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ReplayTest, LiveHitRateEqualsTheOfflineHarnessOnTheGoldenFixture) {
  ExpectLiveEqualsOffline("events:" + kGolden + "events_small.jsonl", "itemknn", 10);
}

TEST(ReplayTest, LiveHitRateEqualsTheOfflineHarnessOnASmallSyntheticStream) {
  ExpectLiveEqualsOffline("synthetic:users=40,items=60,events=1500,seed=3", "itemknn", 10);
}

TEST(ReplayTest, PacedBatchedReplayReportsLiveLines) {
  testing::TempDir dir;
  Server server(dir.path() + "/data", "pop");
  ASSERT_FALSE(server.url().empty());
  RunResult replay = RunCli("replay --url " + server.url() +
                            " --dataset synthetic:users=30,items=50,events=600,seed=5"
                            " --speed 1000000 --batch 20 --report-every-ms 10");
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  EXPECT_THAT(replay.output, HasSubstr("ev/s"));
  EXPECT_THAT(replay.output, HasSubstr("freshness p99"));
  const size_t brace = replay.output.rfind("\n{");
  ASSERT_NE(brace, std::string::npos) << replay.output;
  const json summary = json::parse(replay.output.substr(brace + 1), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << replay.output;
  EXPECT_EQ(summary["events_sent"], 600);
  EXPECT_EQ(summary["events_accepted"], 600);
  EXPECT_GT(summary["events_scored"].get<int64_t>(), 0);
  EXPECT_GE(summary["metrics"]["hr"].get<double>(), 0.0);
  EXPECT_LE(summary["metrics"]["hr"].get<double>(), 1.0);
}

TEST(ReplayTest, BadArgumentsAndAnUnreachableServer) {
  RunResult r = RunCli("replay --dataset synthetic:users=5,items=20,events=5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--url"));
  r = RunCli("replay --url https://x:1 --dataset synthetic:users=5,items=20,events=5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("https is not supported"));
  r = RunCli("replay --url http://127.0.0.1:1 --dataset synthetic:users=5,items=20,events=5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("cannot connect"));
}

}  // namespace
}  // namespace flywheel
