// End-to-end: `flywheel eval` (protocol P) drives an engine through the serving path, so its
// numbers are the numbers users of `flywheel serve` get: the same stream replayed through a
// running server with `flywheel replay --batch 1 --wait-applied` (exact test-then-train over
// HTTP) gives the same HR@10, NDCG@10 and MRR, and the same HR@20, NDCG@20 and MRR@20 (both
// ask a second list of 20 at each test point: eval/replay.h), to the last printed digit and
// bit for bit in the JSON. Both sides use the default serving pipeline (exploration included: it is
// a hash of user and minute, deterministic); the small catalogues stay below ann_min_items, so
// vectors are scanned exactly; bpr runs with threads=1 and its default seed.
#include <fstream>
#include <regex>
#include <string>
#include <vector>

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

// The value `flywheel eval` printed for `metric` ("hr=0.6842"), or "" when absent.
std::string Printed(const std::string& output, const std::string& metric) {
  std::smatch match;
  const std::regex pattern("\\b" + metric + "=([0-9.]+)");
  return std::regex_search(output, match, pattern) ? match[1].str() : "";
}

struct Case {
  std::string dataset;
  std::string model;
  std::vector<std::string> params;  // MODEL.KEY=VALUE
};

void ExpectEvalEqualsReplay(const Case& c) {
  testing::TempDir dir;
  std::string param_flags;
  std::vector<std::string> serve_extra;
  for (const std::string& p : c.params) {
    param_flags += " --param " + p;
    serve_extra.push_back("--param");
    serve_extra.push_back(p);
  }
  const std::string offline_path = dir.path() + "/eval.json";
  RunResult eval = RunCli("eval --dataset " + c.dataset + " --models " + c.model + param_flags +
                          " --k 10 --no-progress --json " + offline_path);
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  const json offline = ReadJson(offline_path);
  ASSERT_TRUE(offline.is_object()) << eval.output;
  ASSERT_EQ(offline["results"].size(), 1u);
  EXPECT_EQ(offline["results"][0]["target"], "engine");

  Server server(dir.path() + "/data", c.model, "", serve_extra);
  ASSERT_FALSE(server.url().empty());
  const std::string live_path = dir.path() + "/replay.json";
  RunResult replay = RunCli("replay --url " + server.url() + " --dataset " + c.dataset +
                            " --batch 1 --wait-applied --k 10 --json " + live_path);
  ASSERT_EQ(replay.exit_code, 0) << replay.output;
  const json live = ReadJson(live_path);
  ASSERT_TRUE(live.is_object()) << replay.output;
  EXPECT_EQ(live["events_sent"], offline["events_total"]);
  EXPECT_EQ(live["events_accepted"], offline["events_total"]);
  EXPECT_EQ(live["errors"], 0) << live["first_error"];
  EXPECT_EQ(live["stale_reads"], 0);
  EXPECT_EQ(live["filters"]["positive"], offline["filters"]["positive"]);
  ASSERT_EQ(live["events_scored"], offline["events_scored"]);
  EXPECT_GT(live["events_scored"].get<int64_t>(), 50);

  // The printed numbers, digit for digit.
  const std::string hr = Printed(eval.output, "hr");
  const std::string ndcg = Printed(eval.output, "ndcg");
  const std::string mrr = Printed(eval.output, "mrr");
  const std::string hr20 = Printed(eval.output, "hr@20");
  const std::string ndcg20 = Printed(eval.output, "ndcg@20");
  ASSERT_FALSE(hr.empty()) << eval.output;
  ASSERT_FALSE(ndcg.empty()) << eval.output;
  ASSERT_FALSE(hr20.empty()) << eval.output;
  ASSERT_FALSE(ndcg20.empty()) << eval.output;
  EXPECT_THAT(replay.output, HasSubstr("HR@10 " + hr + "  NDCG@10 " + ndcg + "  MRR " + mrr +
                                       "  HR@20 " + hr20 + "  NDCG@20 " + ndcg20))
      << eval.output;
  // And the JSON, bit for bit.
  const json& off = offline["results"][0]["metrics"];
  const json& on = live["metrics"];
  for (const char* metric : {"hr", "ndcg", "mrr", "hr@20", "ndcg@20", "mrr@20"}) {
    ASSERT_TRUE(off.contains(metric)) << metric;
    ASSERT_TRUE(on.contains(metric)) << metric;
    EXPECT_EQ(on[metric].get<double>(), off[metric].get<double>()) << metric;
  }
  EXPECT_GT(off["hr"].get<double>(), 0.0);
  // The @20 list is asked separately, not read off the K list: HR@20 >= HR@10 need not hold
  // item by item (exploration slots scale with k), but on these streams it does on the whole.
  EXPECT_GE(off["hr@20"].get<double>(), off["hr"].get<double>());
  EXPECT_EQ(server.Stop(), 0);
}

constexpr const char* kStream = "synthetic:users=40,items=60,events=1500,seed=3";

TEST(EvalPathTest, ItemKnnEvalEqualsReplayThroughAServer) {
  ExpectEvalEqualsReplay({kStream, "itemknn", {}});
}

// pop is served as trending items by the pipeline: the engine path measures that, not MostPop.
TEST(EvalPathTest, PopEvalEqualsReplayThroughAServer) {
  ExpectEvalEqualsReplay({kStream, "pop", {}});
}

// A vector model: candidates from an exact scan (60 items < ann_min_items), neighbour seeds,
// exploration; one Fit thread and the default seed make it deterministic.
TEST(EvalPathTest, BprEvalEqualsReplayThroughAServer) {
  ExpectEvalEqualsReplay({kStream, "bpr", {"bpr.threads=1"}});
}

TEST(EvalPathTest, RawModelAndUnsupportedUpdateModes) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/raw.json";
  RunResult raw = RunCli(std::string("eval --raw-model --dataset ") + kStream +
                         " --models itemknn --no-progress --json " + path);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  const json doc = ReadJson(path);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["results"][0]["target"], "model");
  // Frozen and retrained models exist only for the model alone.
  RunResult frozen = RunCli(std::string("eval --dataset ") + kStream +
                            " --models itemknn --update frozen --no-progress");
  EXPECT_EQ(frozen.exit_code, 2);
  EXPECT_THAT(frozen.output, HasSubstr("--raw-model"));
  RunResult ok = RunCli(std::string("eval --raw-model --dataset ") + kStream +
                        " --models itemknn --update frozen --no-progress");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

}  // namespace
}  // namespace flywheel
