// End-to-end (issue 17): a data directory whose last segment was cut after a clean shutdown.
// serve and inspect refuse it with the same message; `repair` recovers what is left into a new
// directory and says what was lost; serve --skip-corruption starts and reports the loss in
// GET /v1/stats and /metrics.
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.h"
#include "serve_process.h"
#include "testing/status_matchers.h"
#include "url_client.h"

namespace flywheel {
namespace {

using ::testing::HasSubstr;

using e2e::ReadJson;
using e2e::RunCli;
using e2e::RunResult;

std::string Segment(const std::string& data) {
  return data + "/wal/000001.log";
}

// 500 events logged and closed cleanly, then the only segment cut to half its size.
void MakeCutDirectory(const std::string& tmp, const std::string& data) {
  const std::string events = tmp + "/ev.jsonl";
  {
    std::ofstream out(events);
    for (int i = 0; i < 500; ++i) {
      out << R"({"user":"u)" << i % 40 << R"(","item":"i)" << (i * 7) % 60
          << R"(","type":"view","ts":)" << 1700000000000LL + i * 1000 << R"(,"id":"e)" << i + 1
          << "\"}\n";
    }
  }
  RunResult ingest = RunCli("ingest --data-dir " + data + " --no-snapshot --batch 100 " + events);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  const auto size = std::filesystem::file_size(Segment(data));
  std::filesystem::resize_file(Segment(data), size / 2);
}

TEST(RepairE2eTest, CutSegmentIsRefusedThenRepairedIntoANewDirectory) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeCutDirectory(dir.path(), data);
  const auto cut_size = std::filesystem::file_size(Segment(data));

  RunResult inspect = RunCli("inspect --data-dir " + data);
  EXPECT_EQ(inspect.exit_code, 1) << inspect.output;  // as serve: refused
  EXPECT_THAT(inspect.output, HasSubstr("000001.log"));
  EXPECT_THAT(inspect.output, HasSubstr("--skip-corruption"));
  RunResult serve = RunCli("serve --data-dir " + data + " --port 0");
  EXPECT_EQ(serve.exit_code, 1) << serve.output;
  EXPECT_THAT(serve.output, HasSubstr("durable at the last clean shutdown"));

  const std::string out = dir.path() + "/repaired";
  const std::string json = dir.path() + "/repair.json";
  RunResult repair = RunCli("repair --data-dir " + data + " --out " + out + " --json " + json);
  ASSERT_EQ(repair.exit_code, 0) << repair.output;
  EXPECT_THAT(repair.output, HasSubstr("lost events: seq"));
  EXPECT_EQ(std::filesystem::file_size(Segment(data)), cut_size);  // the original is untouched
  const nlohmann::json report = ReadJson(json);
  ASSERT_TRUE(report.is_object()) << repair.output;
  const uint64_t kept = report["verified_last_seq"].get<uint64_t>();
  EXPECT_GT(kept, 100u);
  EXPECT_EQ(kept + report["lost_events"].get<uint64_t>(), 500u);
  ASSERT_EQ(report["lost_seqs"].size(), 1u);
  EXPECT_EQ(report["lost_seqs"][0]["first_seq"], kept + 1);
  EXPECT_EQ(report["lost_seqs"][0]["last_seq"], 500);

  RunResult again = RunCli("inspect --data-dir " + out + " 2>/dev/null");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(nlohmann::json::parse(again.output)["last_seq"], kept);
  RunResult into_existing = RunCli("repair --data-dir " + data + " --out " + out);
  EXPECT_EQ(into_existing.exit_code, 1);
  EXPECT_THAT(into_existing.output, HasSubstr("not empty"));
}

TEST(RepairE2eTest, ServeSkipCorruptionStartsAndReportsTheLoss) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  MakeCutDirectory(dir.path(), data);
  e2e::Server server(data, "pop", "", {"--skip-corruption"});
  ASSERT_FALSE(server.url().empty());
  client::HttpClient http = e2e::ClientFor(server.url());
  Result<client::Response> stats = http.Get("/v1/stats");
  ASSERT_TRUE(stats.ok());
  const nlohmann::json doc = nlohmann::json::parse(stats->body);
  const nlohmann::json& recovery = doc["recovery"];
  EXPECT_EQ(recovery["skipped"].size(), 1u) << recovery.dump();
  EXPECT_EQ(recovery["lost_events"].get<uint64_t>() + doc["last_seq"].get<uint64_t>(), 500u);
  EXPECT_EQ(recovery["skipped"][0]["last_lost_seq"], 500);
  Result<client::Response> metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(metrics->body, HasSubstr("flywheel_recovery_lost_events " +
                                       std::to_string(recovery["lost_events"].get<uint64_t>())));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace flywheel
