// Attribution through the engine: impressions survive snapshots and kills, duplicate event ids
// count once, the periodic close is logged and replayed, forgetting drops open lists, and the
// counters reach stats() and MetricsText(). Impressions are logged here by appending `$impression`
// records to a closed data directory's log (what Engine::RecordImpression writes).
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "engine/loop/attribution.h"
#include "engine/loop/impression_record.h"
#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/log_writer.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;
constexpr TimestampMs kT0 = 1'700'000'000'000;

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  o.snapshot_on_close = false;
  o.loop.close_tick_ms = 0;  // closes by event time only, unless a test asks
  return o;
}

std::unique_ptr<Engine> OpenOk(const EngineOptions& o) {
  auto engine = Engine::Open(o);
  EXPECT_OK(engine.status());
  return engine.ok() ? std::move(engine).value() : nullptr;
}

Event Ev(const std::string& user, const std::string& item, const std::string& type, TimestampMs ts,
         const std::string& id = "") {
  Event e;
  e.user = user;
  e.item = item;
  e.type = type;
  e.ts_ms = ts;
  e.id = id;
  return e;
}

Event Shown(const std::string& user, const std::string& rec, TimestampMs ts,
            const std::vector<std::string>& items) {
  Impression imp;
  imp.user = user;
  imp.recommendation_id = rec;
  imp.ts_ms = ts;
  imp.policy = "greedy";
  for (size_t i = 0; i < items.size(); ++i) {
    imp.items.push_back(ShownItem{items[i], static_cast<uint32_t>(i), 1.0, 1.0});
  }
  return engine::ImpressionRecord(imp);
}

// Appends `records` to the log of the (closed or killed) data directory `dir` after `last_seq`.
void AppendToLog(const std::string& dir, uint64_t last_seq, const std::vector<Event>& records) {
  auto writer =
      wal::LogWriter::Open(io::Env::Default(), dir + "/wal", wal::WriterOptions{}, last_seq + 1);
  ASSERT_OK(writer.status());
  ASSERT_OK((*writer)->AppendBatch(last_seq + 1, records));
  ASSERT_OK((*writer)->Close());
}

// A data directory with users u1, u2 and items i0..i5 (events up to kT0), killed (no Close);
// then the impression of u1 showing i1, i2, i3 at kT0 appended. Returns the last seq.
uint64_t Prepare(const std::string& dir) {
  {
    auto engine = OpenOk(Options(dir));
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) {
      events.push_back(Ev(i % 2 == 0 ? "u1" : "u2", "i" + std::to_string(i), "view", kT0 - 6 + i));
    }
    EXPECT_OK(engine->Ingest(events).status());
    EXPECT_OK(engine->WaitForApplied(6, 20000));
  }
  AppendToLog(dir, 6, {Shown("u1", "0123456789abcdef", kT0, {"i1", "i2", "i3"})});
  return 7;
}

Result<IngestResult> IngestAll(Engine& engine, const std::vector<Event>& events) {
  return engine.Ingest(events);
}

ImpressionStats Impressions(const Engine& engine) {
  return engine.stats().impressions;
}

class KillTest : public ::testing::TestWithParam<bool> {};

// A reward arriving after a kill (and with or without a snapshot in between) still finds its
// impression, and the closed list carries it.
TEST_P(KillTest, ARewardAfterAKillFindsItsImpression) {
  const bool with_snapshot = GetParam();
  TempDir dir;
  uint64_t last = Prepare(dir.path());
  {
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(Impressions(*engine).open, 1u);  // replayed
    if (with_snapshot) {
      ASSERT_OK(engine->Snapshot().status());
    }
    // Killed: no Close.
  }
  uint32_t digest = 0;
  {
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_NE(engine, nullptr);
    const EngineStats s = engine->stats();
    EXPECT_EQ(s.impressions.open, 1u);
    EXPECT_EQ(s.recovered_snapshot_seq, with_snapshot ? last : 0u);
    ASSERT_OK(IngestAll(*engine, {Ev("u1", "i2", "purchase", kT0 + 5 * kMinute)}).status());
    ASSERT_OK(engine->WaitForApplied(++last, 20000));
    EXPECT_EQ(Impressions(*engine).attributed, 1u);
    EXPECT_EQ(Impressions(*engine).closed, 0u);
    // Killed again before the window passed.
    digest = engine->StateDigest().value();
  }
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->StateDigest().value(), digest);  // recovery is bit-identical
  ASSERT_OK(IngestAll(*engine, {Ev("u2", "i0", "view", kT0 + 31 * kMinute)}).status());
  ASSERT_OK(engine->WaitForApplied(++last, 20000));
  const ImpressionStats s = Impressions(*engine);
  EXPECT_EQ(s.recorded, 1u);
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.closed, 1u);
  EXPECT_EQ(s.clicked, 1u);
  EXPECT_EQ(s.attributed, 1u);
  EXPECT_DOUBLE_EQ(s.reward_sum, 5.0);
  EXPECT_EQ(s.positions[1].clicked, 1u);
  EXPECT_DOUBLE_EQ(s.positions[1].reward, 5.0);
  EXPECT_EQ(s.positions[0].shown, 1u);
  EXPECT_EQ(s.positions[0].clicked, 0u);
}

INSTANTIATE_TEST_SUITE_P(Snapshot, KillTest, ::testing::Bool());

TEST(LoopEngineTest, DuplicateEventIdsAreAttributedOnce) {
  TempDir dir;
  uint64_t last = Prepare(dir.path());
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  const Event click = Ev("u1", "i1", "click", kT0 + 1000, "c-1");
  ASSERT_OK(IngestAll(*engine, {click}).status());
  Result<IngestResult> again = IngestAll(*engine, {click, click});
  ASSERT_OK(again.status());
  EXPECT_EQ(again->duplicates, 2u);
  ASSERT_OK(IngestAll(*engine, {Ev("u2", "i0", "view", kT0 + 40 * kMinute)}).status());
  last += 2;
  ASSERT_OK(engine->WaitForApplied(last, 20000));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(s.impressions.attributed, 1u);
  EXPECT_DOUBLE_EQ(s.impressions.reward_sum, 1.0);
  EXPECT_EQ(s.impressions.closed, 1u);
}

TEST(LoopEngineTest, ThePeriodicCloseIsLoggedAndReplayed) {
  TempDir dir;
  uint64_t last = Prepare(dir.path());
  EngineOptions o = Options(dir.path());
  o.loop.attribution_window_ms = 300;
  o.loop.close_tick_ms = 50;
  uint32_t digest = 0;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(Impressions(*engine).open, 1u);
    // No event arrives: after ~300 ms of idle wall time a close record is logged and applied.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Impressions(*engine).closed == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(Impressions(*engine).closed, 1u);
    ASSERT_OK(engine->WaitForApplied(last + 1, 20000));
    EXPECT_EQ(engine->stats().last_seq, last + 1);  // exactly one record: nothing else was due
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(engine->stats().last_seq, last + 1);
    digest = engine->StateDigest().value();
    // Killed.
  }
  o.loop.close_tick_ms = 0;
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Impressions(*engine).closed, 1u);
  EXPECT_EQ(engine->StateDigest().value(), digest);
}

TEST(LoopEngineTest, ForgettingAUserRemovesTheirOpenImpressions) {
  TempDir dir;
  uint64_t last = Prepare(dir.path());
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  ASSERT_EQ(Impressions(*engine).open, 1u);
  last = engine->ForgetUser("u1").value().seq;
  EXPECT_EQ(Impressions(*engine).open, 0u);
  ASSERT_OK(IngestAll(*engine, {Ev("u1", "i1", "click", kT0 + 1000),
                                Ev("u2", "i0", "view", kT0 + 60 * kMinute)})
                .status());
  ASSERT_OK(engine->WaitForApplied(last + 2, 20000));
  const ImpressionStats s = Impressions(*engine);
  EXPECT_EQ(s.closed, 0u);  // nothing closed for the forgotten user
  EXPECT_EQ(s.attributed, 0u);
  EXPECT_EQ(s.recorded, 1u);  // what was counted stays counted
  // The purge removed the log holding the impression: a restart does not bring it back.
  const uint32_t digest = engine->StateDigest().value();
  engine.reset();
  engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Impressions(*engine).open, 0u);
  EXPECT_EQ(engine->StateDigest().value(), digest);
}

TEST(LoopEngineTest, MetricsAndStatsCarryTheImpressionCounters) {
  TempDir dir;
  uint64_t last = Prepare(dir.path());
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  ASSERT_OK(IngestAll(*engine, {Ev("u1", "i3", "click", kT0 + 90'000),
                                Ev("u2", "i0", "view", kT0 + 60 * kMinute)})
                .status());
  ASSERT_OK(engine->WaitForApplied(last + 2, 20000));
  const std::string text = engine->MetricsText();
  EXPECT_THAT(text, HasSubstr("flywheel_impressions_recorded_total 1\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impression_items_shown_total 3\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impressions_closed_total 1\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impressions_clicked_total 1\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impression_position_clicked_total{position=\"2\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impression_position_shown_total{position=\"10+\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("flywheel_impression_unattributed_events_total{reason=\"not_shown\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impression_attribution_lag_seconds_bucket{le=\"60\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("flywheel_impression_attribution_lag_seconds_bucket{le=\"120\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impression_attribution_lag_seconds_sum 90\n"));
  EXPECT_THAT(text, HasSubstr("flywheel_impressions_open 0\n"));
}

TEST(LoopEngineTest, BadLoopOptionsRefuseToOpen) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.loop.reward_weights = "click=oops";
  EXPECT_THAT(Engine::Open(o).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("loop.reward_weights")));
  o = Options(dir.path());
  o.loop.attribution_window_ms = -1;
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flywheel
