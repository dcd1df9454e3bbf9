// Issue 17, item 2 and the recovery report: damage at the end of the log is either a torn write
// (cut and reported with its byte count) or loss of acknowledged events (refused, or with
// skip_corruption skipped and reported exactly).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/coding.h"
#include "wal/durable_mark.h"
#include "wal/log_format.h"

namespace flywheel {
namespace {

using ::flywheel::testing::OverwriteFile;
using ::flywheel::testing::ReadFileBytes;
using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

std::vector<Event> Events(size_t n) {
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.user = "u" + std::to_string(i % 9);
    e.item = "i" + std::to_string(i % 13);
    e.type = "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>(i * 1000);
    e.id = "e" + std::to_string(i + 1);  // the id names the seq
    events.push_back(e);
  }
  return events;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.snapshot_on_close = false;  // the log alone holds the events
  return o;
}

std::string Segment(const std::string& dir) {
  return dir + "/wal/000001.log";
}

// 100 events in segment 1; closed cleanly (durable mark written) or left as a crash leaves it.
void Fill(const std::string& dir, bool clean) {
  Result<std::unique_ptr<Engine>> engine = Engine::Open(Options(dir));
  ASSERT_OK(engine.status());
  ASSERT_OK((*engine)->Ingest(Events(100)).status());
  if (clean) {
    ASSERT_OK((*engine)->Close());
  }
}

TEST(RecoveryReportTest, CleanOpenReportsWhatWasReplayed) {
  TempDir dir;
  Fill(dir.path(), true);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  const RecoveryReport r = (*engine)->stats().recovery;
  EXPECT_EQ(r.replayed_events, 100u);
  EXPECT_EQ(r.first_replayed_seq, 1u);
  EXPECT_EQ(r.last_replayed_seq, 100u);
  EXPECT_EQ(r.segments, 1u);
  EXPECT_FALSE(r.torn_tail);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.lost_events, 0u);
}

// A cut at 50% of the last segment after a clean shutdown used to be cut as a torn tail: 50
// acknowledged events dropped silently.
TEST(RecoveryReportTest, CutLastSegmentAfterCleanCloseIsRefused) {
  TempDir dir;
  Fill(dir.path(), true);
  const std::string data = ReadFileBytes(Segment(dir.path()));
  OverwriteFile(Segment(dir.path()), data.substr(0, data.size() / 2));
  Status refused = Engine::Open(Options(dir.path())).status();
  EXPECT_THAT(refused, StatusIs(StatusCode::kCorruption, HasSubstr("000001.log")));
  EXPECT_THAT(refused.message(), HasSubstr("to 100 are lost"));
  EXPECT_THAT(refused.message(), HasSubstr("--skip-corruption"));
  EngineOptions read_only = Options(dir.path());
  read_only.read_only = true;  // inspect: the same checks
  EXPECT_THAT(Engine::Open(read_only).status(), StatusIs(StatusCode::kCorruption));
  EXPECT_EQ(ReadFileBytes(Segment(dir.path())).size(),
            data.size() / 2);  // a refusal changes nothing

  EngineOptions skip = Options(dir.path());
  skip.skip_corruption = true;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(skip);
  ASSERT_OK(engine.status());
  const EngineStats s = (*engine)->stats();
  ASSERT_EQ(s.recovery.skipped.size(), 1u);
  const RecoveryDamage& d = s.recovery.skipped[0];
  EXPECT_EQ(d.first_lost_seq, s.last_seq + 1);
  EXPECT_EQ(d.last_lost_seq, 100u);
  EXPECT_EQ(s.recovery.lost_events, 100 - s.last_seq);
  EXPECT_GT(s.recovery.lost_events, 40u);
  EXPECT_TRUE(s.recovery.torn_tail);  // the cut went through a record
  ASSERT_OK((*engine)->Close());
  engine->reset();
  // The loss was accepted: the directory now opens cleanly.
  Result<std::unique_ptr<Engine>> again = Engine::Open(Options(dir.path()));
  ASSERT_OK(again.status());
  EXPECT_TRUE((*again)->stats().recovery.skipped.empty());
}

TEST(RecoveryReportTest, CutAtARecordBoundaryAfterCleanCloseIsRefused) {
  TempDir dir;
  Fill(dir.path(), true);
  // Drop the last record exactly: no partial record is left, only the durable mark can tell.
  const std::string data = ReadFileBytes(Segment(dir.path()));
  uint64_t last = wal::kSegmentHeaderSize;
  for (uint64_t pos = last; pos + wal::kRecordHeaderSize <= data.size();) {
    last = pos;
    pos += wal::kRecordHeaderSize + wal::DecodeFixed32(data.data() + pos + 4);
  }
  OverwriteFile(Segment(dir.path()), data.substr(0, last));
  EXPECT_THAT(Engine::Open(Options(dir.path())).status(),
              StatusIs(StatusCode::kCorruption, HasSubstr("events 100 to 100 are lost")));
}

// A crash mid-write leaves a partial last record: cut, and reported with the byte count.
TEST(RecoveryReportTest, TornWriteAfterCrashIsCutAndReported) {
  TempDir dir;
  Fill(dir.path(), false);
  const std::string data = ReadFileBytes(Segment(dir.path()));
  OverwriteFile(Segment(dir.path()), data.substr(0, data.size() - 5));
  Result<std::unique_ptr<Engine>> engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  const RecoveryReport r = (*engine)->stats().recovery;
  EXPECT_EQ((*engine)->stats().last_seq, 99u);
  EXPECT_TRUE(r.torn_tail);
  EXPECT_EQ(r.torn_tail_file, Segment(dir.path()));
  EXPECT_EQ(r.torn_tail_offset + r.torn_tail_bytes, data.size() - 5);
  EXPECT_GT(r.torn_tail_bytes, 0u);
  EXPECT_THAT(r.messages, ::testing::Contains(HasSubstr("torn tail")));
}

// A flipped byte in the last record (complete, bad checksum) used to be cut silently. After a
// crash it cannot be told from a torn write (a power loss may leave garbage): cut and reported,
// naming the record.
TEST(RecoveryReportTest, FlippedLastRecordAfterACrashIsCutAndNamed) {
  TempDir dir;
  Fill(dir.path(), false);
  std::string data = ReadFileBytes(Segment(dir.path()));
  data[data.size() - 3] ^= 0x20;
  OverwriteFile(Segment(dir.path()), data);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  const RecoveryReport r = (*engine)->stats().recovery;
  EXPECT_EQ((*engine)->stats().last_seq, 99u);
  EXPECT_TRUE(r.torn_tail);
  EXPECT_EQ(r.torn_tail_offset + r.torn_tail_bytes, data.size());
  EXPECT_THAT(r.messages,
              ::testing::Contains(HasSubstr("a complete last record was damaged, seq 100")));
}

// After a clean close the durable mark says seq 100 was durable: the same flip is refused, and
// skipping names the lost event.
TEST(RecoveryReportTest, FlippedLastRecordAfterACleanCloseIsRefusedAndSkippingNamesIt) {
  TempDir dir;
  Fill(dir.path(), true);
  std::string data = ReadFileBytes(Segment(dir.path()));
  data[data.size() - 3] ^= 0x20;
  OverwriteFile(Segment(dir.path()), data);
  EXPECT_THAT(Engine::Open(Options(dir.path())).status(),
              StatusIs(StatusCode::kCorruption, HasSubstr("events 100 to 100 are lost")));
  EngineOptions skip = Options(dir.path());
  skip.skip_corruption = true;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(skip);
  ASSERT_OK(engine.status());
  const RecoveryReport r = (*engine)->stats().recovery;
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].first_lost_seq, 100u);
  EXPECT_EQ(r.skipped[0].last_lost_seq, 100u);
  EXPECT_EQ(r.lost_events, 1u);
}

TEST(RecoveryReportTest, DamagedDurableMarkIsIgnoredAndNoted) {
  TempDir dir;
  Fill(dir.path(), true);
  const std::string mark = dir.path() + "/wal/" + wal::kDurableMarkName;
  std::string bytes = ReadFileBytes(mark);
  bytes[6] ^= 1;
  OverwriteFile(mark, bytes);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  EXPECT_THAT((*engine)->stats().recovery.messages,
              ::testing::Contains(HasSubstr("damaged durable mark")));
}

}  // namespace
}  // namespace flywheel
