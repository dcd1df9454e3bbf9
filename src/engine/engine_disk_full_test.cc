// A full disk (issue 17, item 5; doc/engine.md, "Disk full"): writes are refused with
// kUnavailable and a retry time while reads go on, the engine reports the state, a refused batch
// is wholly absent from the log (never "163 of 500 events" after a restart), and writing resumes
// once space is freed, without a restart.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "io/env.h"
#include "io/fault_injection_env.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

std::vector<Event> Events(size_t first, size_t n) {
  std::vector<Event> events;
  for (size_t i = first; i < first + n; ++i) {
    Event e;
    e.user = "u" + std::to_string(i % 13);
    e.item = "i" + std::to_string(i * 7 % 29);
    e.type = "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>(i) * 1000;
    e.id = "e" + std::to_string(i);
    events.push_back(e);
  }
  return events;
}

class EngineDiskFullTest : public ::testing::Test {
 protected:
  EngineOptions Options(int retry_ms, io::Env* env) {
    EngineOptions o;
    o.data_dir = dir_.path();
    o.env = env;
    o.models = {ModelSpec{"pop", {}}};
    o.disk_full_retry_ms = retry_ms;
    o.snapshot_on_close = false;
    return o;
  }
  // Opens on the fault env, logs 100 events, fills the disk inside a batch of 500.
  std::unique_ptr<Engine> OpenAndFill(int retry_ms) {
    auto engine = Engine::Open(Options(retry_ms, &env_));
    EXPECT_OK(engine.status());
    if (!engine.ok()) {
      return nullptr;
    }
    EXPECT_OK((*engine)->Ingest(Events(0, 100)).status());
    env_.SetSpaceLimit(163 * 50);  // about a third of the next batch fits
    EXPECT_THAT((*engine)->Ingest(Events(100, 500)),
                StatusIs(StatusCode::kUnavailable, HasSubstr("disk full")));
    return std::move(engine).value();
  }

  TempDir dir_;
  io::FaultInjectionEnv env_{io::Env::Default()};
};

TEST_F(EngineDiskFullTest, WritesAreRefusedWithARetryTimeWhileReadsGoOn) {
  std::unique_ptr<Engine> engine = OpenAndFill(/*retry_ms=*/600'000);
  ASSERT_NE(engine, nullptr);
  EngineStats s = engine->stats();
  EXPECT_EQ(s.write_state, "disk_full");
  EXPECT_THAT(s.write_error, HasSubstr("no space left"));
  EXPECT_GE(s.write_retry_after_s, 590);
  EXPECT_EQ(s.last_seq, 100u);
  // Within the back-off a write is refused at once, without touching the disk.
  const int64_t writes = env_.writes();
  EXPECT_THAT(engine->Ingest(Events(100, 1)),
              StatusIs(StatusCode::kUnavailable, HasSubstr("retry after")));
  EXPECT_THAT(engine->PutItem(Item{"x", "X", {}, {}, {}, 0}), StatusIs(StatusCode::kUnavailable));
  EXPECT_EQ(env_.writes(), writes);
  // Reads go on.
  ASSERT_OK(engine->WaitForApplied(100, 30'000));
  RecommendQuery q;
  q.user = "u1";
  auto recs = engine->Recommend(q);
  ASSERT_OK(recs.status());
  EXPECT_FALSE(recs->items.empty());
  EXPECT_EQ(engine->stats().users, 13u);
}

// The issue saw 163 of a refused batch of 500 events applied after a restart.
TEST_F(EngineDiskFullTest, ARefusedBatchIsWhollyAbsentAfterARestart) {
  {
    std::unique_ptr<Engine> engine = OpenAndFill(/*retry_ms=*/600'000);
    ASSERT_NE(engine, nullptr);
    (void)engine->Close();  // the disk is still full
  }
  env_.SetSpaceLimit(UINT64_MAX);
  auto engine = Engine::Open(Options(1000, nullptr));
  ASSERT_OK(engine.status());
  const EngineStats s = (*engine)->stats();
  EXPECT_EQ(s.last_seq, 100u);
  EXPECT_EQ(s.write_state, "ready");
  EXPECT_THAT(s.recovery_messages, ::testing::IsEmpty());  // no torn tail to cut either
  // The client's retry of the refused batch is applied whole, once.
  auto r = (*engine)->Ingest(Events(100, 500));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->accepted, 500u);
  EXPECT_EQ(r->last_seq, 600u);
}

TEST_F(EngineDiskFullTest, WritingResumesWhenSpaceIsFreedWithoutARestart) {
  std::unique_ptr<Engine> engine = OpenAndFill(/*retry_ms=*/0);
  ASSERT_NE(engine, nullptr);
  // Still full: the re-check (a probe file next to the log) fails and nothing is logged.
  EXPECT_EQ(engine->stats().write_state, "disk_full");
  EXPECT_THAT(engine->Ingest(Events(100, 500)), StatusIs(StatusCode::kUnavailable));
  EXPECT_FALSE(env_.FileExists(dir_.path() + "/wal/space-probe.tmp"));
  env_.SetSpaceLimit(UINT64_MAX);
  // Reading the state re-checks: writes resume without a client write as the test.
  EXPECT_EQ(engine->stats().write_state, "ready");
  EXPECT_EQ(engine->stats().write_error, "");
  auto r = engine->Ingest(Events(100, 500));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->first_seq, 101u);
  EXPECT_EQ(r->last_seq, 600u);
  ASSERT_OK(engine->Close());
  engine.reset();
  auto reopened = Engine::Open(Options(1000, nullptr));
  ASSERT_OK(reopened.status());
  EXPECT_EQ((*reopened)->stats().last_seq, 600u);
  EXPECT_THAT((*reopened)->stats().recovery_messages, ::testing::IsEmpty());
}

TEST_F(EngineDiskFullTest, AWriteAfterTheBackOffIsTheTest) {
  std::unique_ptr<Engine> engine = OpenAndFill(/*retry_ms=*/0);
  ASSERT_NE(engine, nullptr);
  env_.SetSpaceLimit(UINT64_MAX);
  auto r = engine->Ingest(Events(100, 500));  // no stats() call in between
  ASSERT_OK(r.status());
  EXPECT_EQ(r->last_seq, 600u);
  EXPECT_EQ(engine->stats().write_state, "ready");
}

TEST_F(EngineDiskFullTest, AFailedSyncIsFatalNotRetried) {
  auto engine = Engine::Open(Options(0, &env_));
  ASSERT_OK(engine.status());
  env_.FailNthSync(1);
  EXPECT_THAT((*engine)->Ingest(Events(0, 10)), StatusIs(StatusCode::kIoError));
  const EngineStats s = (*engine)->stats();
  EXPECT_EQ(s.write_state, "failed");
  EXPECT_THAT(s.write_error, HasSubstr("fdatasync failed"));
  EXPECT_THAT((*engine)->Ingest(Events(0, 1)), StatusIs(StatusCode::kIoError));
}

TEST_F(EngineDiskFullTest, ReadOnlyReportsItsState) {
  {
    auto engine = Engine::Open(Options(1000, nullptr));
    ASSERT_OK(engine.status());
    ASSERT_OK((*engine)->Ingest(Events(0, 10)).status());
    ASSERT_OK((*engine)->Close());
  }
  EngineOptions o = Options(1000, nullptr);
  o.read_only = true;
  auto engine = Engine::Open(o);
  ASSERT_OK(engine.status());
  EXPECT_EQ((*engine)->stats().write_state, "read_only");
  EXPECT_EQ((*engine)->stats().last_seq, 10u);
  EXPECT_THAT((*engine)->Ingest(Events(10, 1)),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("read-only")));
}

}  // namespace
}  // namespace flywheel
