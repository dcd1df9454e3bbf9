// The power-loss bench in its short CI mode (the long mode, 10,000 cycles, is the bench command
// in bench/results/crash.md), and a check that its checks can fail.
#include "crash/power_loss.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::bench {
namespace {

using ::flywheel::testing::TempDir;

TEST(PowerLossBenchTest, ShortRunLosesNothingAndRecoversTheUninterruptedState) {
  TempDir dir;
  PowerLossOptions options;
  options.seed = 7;
  options.cycles = 40;
  options.cycles_per_dir = 20;
  options.events_per_dir = 800;
  options.work_dir = dir.path();
  PowerLossBench bench(options);
  auto report = bench.Run();
  ASSERT_OK(report.status());
  EXPECT_TRUE(report->ok()) << report->ToJson();
  EXPECT_EQ(report->power_losses, 40);
  EXPECT_EQ(report->lost, 0u);
  EXPECT_EQ(report->duplicated, 0u);
  EXPECT_EQ(report->state_mismatches, 0);
  EXPECT_EQ(report->unrecoverable, 0);
  // The run exercised what it claims to: crashes at each kind of point, torn tails of each kind,
  // both durability modes, and acknowledged events to lose.
  EXPECT_GT(report->verified_recoveries, 20);
  EXPECT_GT(report->crashes_in_ingest, 0);
  EXPECT_GT(report->crashes_in_recovery + report->crashes_between, 0);
  EXPECT_GT(report->torn_zeros, 0);
  EXPECT_GT(report->torn_garbage, 0);
  EXPECT_GT(report->interval_cycles, 0);
  EXPECT_GT(report->events_acknowledged, 200u);
}

// A "power loss" that also wipes the log and the snapshots must be reported as a loss.
TEST(PowerLossBenchTest, ReportsAcknowledgedEventsThatDisappear) {
  TempDir dir;
  PowerLossOptions options;
  options.seed = 3;
  options.cycles = 6;
  options.events_per_dir = 300;
  options.max_crash_operation = 1000;  // the batches are acknowledged before the power goes
  options.work_dir = dir.path();
  options.after_crash = [](const std::string& data_dir) {
    for (const char* sub : {"/wal", "/snapshots"}) {
      std::error_code ec;
      for (const auto& entry : std::filesystem::directory_iterator(data_dir + sub, ec)) {
        std::filesystem::remove(entry.path(), ec);
      }
    }
  };
  PowerLossBench bench(options);
  auto report = bench.Run();
  ASSERT_OK(report.status());
  EXPECT_FALSE(report->ok());
  EXPECT_GT(report->lost, 0u) << report->ToJson();
}

}  // namespace
}  // namespace flywheel::bench
