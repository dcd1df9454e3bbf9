// `flywheel simulate` end to end: against `flywheel serve` over HTTP (twice on fresh data
// directories: the same seed gives the same report), in-process, and its strict flags.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "run_cli.h"
#include "serve_process.h"

namespace flywheel::e2e {
namespace {

const char* kSmall =
    " --users 30 --items 60 --days 2 --requests-per-day 40 --k 5 --new-items-per-day 5"
    " --warmup-clicks 2 --seed 3 --no-timing";

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/simulate_e2e_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

nlohmann::json SimulateAgainstServer(const std::string& name) {
  const std::string dir = TempDir(name);
  Server server(dir + "/data", "pop");
  EXPECT_FALSE(server.url().empty());
  const std::string json = dir + "/report.json";
  const RunResult run = RunCli("simulate --url " + server.url() + kSmall + " --json " + json);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("regret/l"), std::string::npos) << run.output;
  EXPECT_EQ(server.Stop(), 0);
  return ReadJson(json);
}

TEST(SimulateE2eTest, OverHttpTheReportIsCompleteAndReproducible) {
  const nlohmann::json a = SimulateAgainstServer("a");
  ASSERT_TRUE(a.is_object());
  ASSERT_EQ(a["days"].size(), 2u);
  const nlohmann::json& all = a["overall"];
  EXPECT_GT(all["requests"].get<int>(), 40);
  EXPECT_EQ(all["shown"].get<int>(), 5 * all["requests"].get<int>());
  EXPECT_GE(all["ctr"].get<double>(), 0.0);
  EXPECT_LE(all["ctr"].get<double>(), 1.0);
  EXPECT_GT(all["oracle_expected_reward"].get<double>(), all["expected_reward"].get<double>());
  EXPECT_EQ(all["catalogue"], 70);
  EXPECT_EQ(a["new_item_time_to_first_click"]["new_items"], 10);
  EXPECT_EQ(a["target"]["recommend_calls"], all["requests"]);
  EXPECT_GE(a["target"]["events_sent"].get<int>(), all["clicks"].get<int>());
  EXPECT_FALSE(a.contains("wall_seconds"));
  const nlohmann::json b = SimulateAgainstServer("b");
  nlohmann::json a_cmp = a;
  nlohmann::json b_cmp = b;
  a_cmp["target"].erase("describe");  // the URL's port differs
  b_cmp["target"].erase("describe");
  EXPECT_EQ(a_cmp.dump(), b_cmp.dump());
}

TEST(SimulateE2eTest, InProcessKeepsItsDataDirectory) {
  const std::string dir = TempDir("inproc");
  const RunResult run = RunCli("simulate --in-process --models pop --data-dir " + dir + "/data" +
                               kSmall + " --json " + dir + "/r.json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const nlohmann::json report = ReadJson(dir + "/r.json");
  EXPECT_EQ(report["days"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/engine.json"));
  const RunResult inspect = RunCli("inspect --data-dir " + dir + "/data");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.output;
  // A simulation starts from a new directory.
  const RunResult again = RunCli("simulate --in-process --data-dir " + dir + "/data" + kSmall);
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("not empty"), std::string::npos) << again.output;
}

TEST(SimulateE2eTest, FlagsAreStrict) {
  EXPECT_EQ(RunCli("simulate --users 10").exit_code, 2);  // neither --url nor --in-process
  EXPECT_EQ(RunCli("simulate --in-process --url http://127.0.0.1:1").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --in-process --examination foo").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --in-process --new-items-per-day 1.5").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --in-process --k 0").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --in-process --bogus 1").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --url http://127.0.0.1:1 --models pop").exit_code, 2);
  EXPECT_EQ(RunCli("simulate --in-process --loop nope=1").exit_code, 2);
  const RunResult future =
      RunCli("simulate --url http://127.0.0.1:1 --start 2999-01-01T00:00:00Z --days 1");
  EXPECT_EQ(future.exit_code, 2);
  EXPECT_NE(future.output.find("--start"), std::string::npos) << future.output;
}

}  // namespace
}  // namespace flywheel::e2e
