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

TEST(EventCodecTest, RecommendationIdExtensionRoundTrips) {
  Event event = MakeEvent(7);
  event.recommendation_id = "00f1e2d3c4b5a697";
  std::string payload;
  EncodeEvent(42, event, &payload);
  std::string without;
  EncodeEvent(42, MakeEvent(7), &without);
  // The extension is ext_flags (1 byte) + a length-prefixed id, after the old payload.
  ASSERT_EQ(payload.size(), without.size() + 2 + event.recommendation_id.size());
  EXPECT_EQ(payload.substr(0, without.size()), without);
  LogRecord record;
  ASSERT_OK(DecodeEvent(payload, &record));
  EXPECT_TRUE(SameEvent(record.event, event));
  EXPECT_EQ(record.event.recommendation_id, "00f1e2d3c4b5a697");
}

TEST(EventCodecTest, PayloadsWithoutTheExtensionDecodeAsBefore) {
  // An event without a recommendation id encodes exactly as before the extension existed: the
  // payload ends with the context (old logs decode unchanged).
  Event event = MakeEvent(3);
  std::string payload;
  EncodeEvent(5, event, &payload);
  LogRecord record;
  ASSERT_OK(DecodeEvent(payload, &record));
  EXPECT_TRUE(record.event.recommendation_id.empty());
  // ext_flags 0 (nothing follows) is accepted too.
  payload.push_back('\0');
  ASSERT_OK(DecodeEvent(payload, &record));
  EXPECT_TRUE(SameEvent(record.event, event));
}

TEST(EventCodecTest, MalformedExtensionsAreCorruption) {
  std::string base;
  EncodeEvent(5, MakeEvent(3), &base);
  LogRecord record;
  // Unknown flag bits.
  EXPECT_THAT(DecodeEvent(base + std::string(1, '\x02'), &record),
              StatusIs(StatusCode::kCorruption));
  // Bit 0 without the id, with a truncated id, and with an empty id.
  EXPECT_THAT(DecodeEvent(base + std::string(1, '\x01'), &record),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(DecodeEvent(base + std::string("\x01\x05"
                                             "abc",
                                             5),
                          &record),
              StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(DecodeEvent(base + std::string("\x01\x00", 2), &record),
              StatusIs(StatusCode::kCorruption));
  // Bytes after the id.
  EXPECT_THAT(DecodeEvent(base + std::string("\x01\x01"
                                             "a"
                                             "z",
                                             4),
                          &record),
              StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace flywheel::wal
