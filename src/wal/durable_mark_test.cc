#include "wal/durable_mark.h"

#include <fstream>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "wal/log_format.h"
#include "wal/wal_test_util.h"

namespace flywheel::wal {
namespace {

using ::flywheel::testing::StatusIs;

TEST(DurableMarkTest, MissingIsNone) {
  flywheel::testing::TempDir tmp;
  Result<std::optional<DurableMark>> mark = ReadDurableMark(io::Env::Default(), tmp.path());
  ASSERT_OK(mark);
  EXPECT_FALSE(mark->has_value());
}

TEST(DurableMarkTest, RecordsTheLastSegmentAndItsSize) {
  flywheel::testing::TempDir tmp;
  io::Env* env = io::Env::Default();
  const std::string dir = tmp.path() + "/wal";
  WriterOptions options;
  options.segment_bytes = 512;
  testing::WriteEvents(env, dir, 40, 4, options);
  ASSERT_OK(MarkLogDurable(env, dir, 40));
  Result<std::optional<DurableMark>> mark = ReadDurableMark(env, dir);
  ASSERT_OK(mark);
  ASSERT_TRUE(mark->has_value());
  EXPECT_EQ((*mark)->last_seq, 40u);
  EXPECT_GT((*mark)->segment, 1u);
  Result<uint64_t> size = env->FileSize(dir + "/" + SegmentFileName((*mark)->segment));
  ASSERT_OK(size);
  EXPECT_EQ((*mark)->bytes, *size);
  ASSERT_OK(RemoveDurableMark(env, dir));
  EXPECT_FALSE(env->FileExists(dir + "/" + kDurableMarkName));
}

TEST(DurableMarkTest, DamagedMarkIsCorruptionNamingTheFile) {
  flywheel::testing::TempDir tmp;
  io::Env* env = io::Env::Default();
  ASSERT_OK(WriteDurableMark(env, tmp.path(), DurableMark{7, 1, 100}));
  const std::string path = tmp.path() + "/" + kDurableMarkName;
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(5);
  f.put('\x55');
  f.close();
  EXPECT_THAT(ReadDurableMark(env, tmp.path()).status(),
              StatusIs(StatusCode::kCorruption, ::testing::HasSubstr(path)));
}

}  // namespace
}  // namespace flywheel::wal
