#include "wal/event_codec.h"

#include <cstdio>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "base/random.h"
#include "testing/status_matchers.h"
#include "wal/log_format.h"
#include "wal/wal_test_util.h"

namespace flywheel::wal {
namespace {

using ::flywheel::testing::StatusIs;
using testing::MakeEvent;
using testing::SameEvent;

TEST(EventCodecTest, RoundTripsEventsWithContextAndIds) {
  for (uint64_t i = 0; i < 50; ++i) {
    std::string payload;
    EncodeEvent(1000 + i, MakeEvent(i), &payload);
    LogRecord record;
    ASSERT_OK(DecodeEvent(payload, &record));
    EXPECT_EQ(record.seq, 1000 + i);
    EXPECT_TRUE(SameEvent(record.event, MakeEvent(i))) << i;
  }
}

TEST(EventCodecTest, RoundTripsExtremeValues) {
  Event event;
  event.user = std::string(300, 'u');
  event.item = "i";
  event.type = "rating";
  event.value = -std::numeric_limits<double>::denorm_min();
  event.ts_ms = std::numeric_limits<int64_t>::min();
  event.context = {{"", ""}, {"k", std::string(200, 'v')}};
  std::string payload;
  EncodeEvent(std::numeric_limits<uint64_t>::max(), event, &payload);
  LogRecord record;
  ASSERT_OK(DecodeEvent(payload, &record));
  EXPECT_EQ(record.seq, std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(SameEvent(record.event, event));
}

TEST(EventCodecTest, EveryTruncationIsCorruption) {
  std::string payload;
  EncodeEvent(7, MakeEvent(3), &payload);
  LogRecord record;
  for (size_t size = 0; size < payload.size(); ++size) {
    EXPECT_THAT(DecodeEvent(std::string_view(payload.data(), size), &record),
                StatusIs(StatusCode::kCorruption))
        << size;
  }
  EXPECT_THAT(DecodeEvent(payload + "x", &record), StatusIs(StatusCode::kCorruption));
}

TEST(EventCodecTest, HugeContextCountIsCorruptionWithoutAllocating) {
  std::string payload;
  EncodeEvent(1, MakeEvent(1), &payload);
  payload.back() = '\xff';  // context count varint becomes unterminated / huge
  payload += std::string("\xff\xff\xff\x0f", 4);
  LogRecord record;
  EXPECT_THAT(DecodeEvent(payload, &record), StatusIs(StatusCode::kCorruption));
}

TEST(EventCodecTest, RandomBytesNeverCrash) {
  const uint64_t seed = 20261122;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  base::Rng rng(seed);
  std::string payload;
  EncodeEvent(42, MakeEvent(6), &payload);
  LogRecord record;
  int decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(rng.Uniform(80));
      for (char& c : bytes) {
        c = static_cast<char>(rng.Uniform(256));
      }
    } else {  // mutate a valid payload
      bytes = payload;
      for (int flips = 1 + static_cast<int>(rng.Uniform(4)); flips > 0; --flips) {
        bytes[rng.Uniform(bytes.size())] = static_cast<char>(rng.Uniform(256));
      }
    }
    decoded += DecodeEvent(bytes, &record).ok() ? 1 : 0;
  }
  EXPECT_GE(decoded, 0);
}

TEST(EventCodecTest, OversizedRecordIsRejected) {
  Event event = MakeEvent(1);
  event.user = std::string(kMaxRecordSize, 'x');
  std::string out = "keep";
  EXPECT_THAT(AppendEventRecord(1, event, &out), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(out, "keep");
}

TEST(EventCodecTest, SegmentFileNames) {
  EXPECT_EQ(SegmentFileName(1), "000001.log");
  EXPECT_EQ(SegmentFileName(1234567), "1234567.log");
  uint64_t number = 0;
  EXPECT_TRUE(ParseSegmentFileName("000042.log", &number));
  EXPECT_EQ(number, 42u);
  EXPECT_FALSE(ParseSegmentFileName("42.log", &number));
  EXPECT_FALSE(ParseSegmentFileName("000042.log.tmp", &number));
  EXPECT_FALSE(ParseSegmentFileName("00004a.log", &number));
  EXPECT_FALSE(ParseSegmentFileName("000000.log", &number));
}

}  // namespace
}  // namespace flywheel::wal
