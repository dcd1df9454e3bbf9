// End-to-end tests of `flywheel ope`: flags, errors and the JSON document (doc/ope.md).
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::testing::HasSubstr;

using e2e::ReadJson;
using e2e::RunCli;
using e2e::RunResult;

const std::string kGolden = std::string(FLYWHEEL_SOURCE_DIR) + "/tests/golden/";

TEST(OpeCliTest, HelpNamesTheFlags) {
  RunResult help = RunCli("ope --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--data-dir", "--policy", "--models", "--weight-cap", "--json"}) {
    EXPECT_THAT(help.output, HasSubstr(flag));
  }
  EXPECT_THAT(RunCli("--help").output, HasSubstr("ope"));
}

TEST(OpeCliTest, BadArgumentsGiveOneLineReasonAndExitTwo) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/d";
  ASSERT_EQ(RunCli("ingest --data-dir " + data + " " + kGolden + "events_small.jsonl").exit_code,
            0);
  struct Case {
    std::string args;
    std::string message;
    int exit_code;
  };
  const Case cases[] = {
      {"ope --policy greedy", "--data-dir is required", 2},
      {"ope --data-dir " + data, "--policy is required", 2},
      {"ope --data-dir " + data + " --policy greedy --bogus", "unknown flag --bogus", 2},
      {"ope --data-dir " + data + " --policy greedy --weight-cap 0", "--weight-cap", 2},
      {"ope --data-dir " + data + " --policy greedy --hit-k ten", "--hit-k", 2},
      {"ope --data-dir " + data + " --policy greedy --folds 0", "--folds", 2},
      {"ope --data-dir " + data + " --policy sideways", "sideways", 2},
      {"ope --data-dir " + data + " --policy magic:greedy", "magic", 2},
      {"ope --data-dir " + data + " --policy greedy --models pop,magic", "unknown model 'magic'",
       2},
      {"ope --data-dir " + data + " --policy greedy extra", "unexpected argument 'extra'", 2},
      {"ope --data-dir " + data + " --policy greedy --config " + dir.path() + "/none.json",
       "cannot read", 1},
      {"ope --data-dir " + dir.path() + "/none --policy greedy", "not a Flywheel data directory",
       1},
  };
  for (const Case& c : cases) {
    RunResult r = RunCli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(c.message)) << c.args;
  }
}

TEST(OpeCliTest, DirectoryWithoutImpressionsGivesAnEmptyDocument) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/d";
  ASSERT_EQ(RunCli("ingest --data-dir " + data + " " + kGolden + "events_small.jsonl").exit_code,
            0);
  const std::string json = dir.path() + "/ope.json";
  RunResult r =
      RunCli("ope --data-dir " + data + " --policy greedy --policy epsilon:0.1 --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("target epsilon:0.1"));
  const nlohmann::json doc = ReadJson(json);
  ASSERT_TRUE(doc.is_object()) << r.output;
  EXPECT_EQ(doc["lists"], 0);
  EXPECT_EQ(doc["replay"]["impressions"], 0);
  EXPECT_GT(doc["replay"]["records"].get<int>(), 0);
  ASSERT_EQ(doc["targets"].size(), 2u);
  EXPECT_EQ(doc["targets"][1]["policy"], "epsilon:0.1");
  for (const char* name : {"dm", "ips", "snips", "ipips", "dr", "pi"}) {
    ASSERT_TRUE(doc["targets"][0]["estimators"].contains(name)) << name;
    EXPECT_TRUE(doc["targets"][0]["estimators"][name]["values"]["reward"]["value"].is_null());
  }
  EXPECT_TRUE(doc["logged"]["values"]["ctr"]["value"].is_null());
}

}  // namespace
}  // namespace flywheel
