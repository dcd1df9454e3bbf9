#include <string>

#include <gtest/gtest.h>

#include "flywheel/result.h"

#include "base/random.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

TEST(StatusTest, OkAndErrors) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.ToString(), "OK");
  Status bad = Status::InvalidArgument("data: field 'x'");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.ToString(), "InvalidArgument: data: field 'x'");
  Status copy = bad;
  EXPECT_EQ(copy, bad);
  EXPECT_EQ(bad.WithPrefix("u.data:3").message(), "u.data:3: data: field 'x'");
  EXPECT_TRUE(Status::Ok().WithPrefix("x").ok());
}

TEST(StatusTest, FieldIsCarriedAsData) {
  EXPECT_EQ(Status::InvalidArgument("event: field 'ts': bad").field(), "");
  Status bad = Status::InvalidArgument("event: field 'ts': bad").WithField("ts");
  EXPECT_EQ(bad.field(), "ts");
  EXPECT_EQ(bad.message(), "event: field 'ts': bad");
  EXPECT_EQ(Status(bad).field(), "ts");
  EXPECT_EQ(bad.WithPrefix("u.jsonl:3").field(), "ts");
  Result<int> result = bad;
  EXPECT_EQ(result.status().field(), "ts");
  EXPECT_TRUE(Status::Ok().WithField("ts").ok());
  EXPECT_EQ(Status::Ok().field(), "");
}

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return Status::InvalidArgument("odd");
  }
  return x / 2;
}

Result<int> Quarter(int x) {
  FLYWHEEL_ASSIGN_OR_RETURN(int half, Half(x));
  FLYWHEEL_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  FLYWHEEL_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(ResultTest, MacrosPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(StatusCode::kInvalidArgument, HasSubstr("odd")));
  EXPECT_OK(CheckEven(4));
  EXPECT_THAT(CheckEven(3), StatusIs(StatusCode::kInvalidArgument));
  Result<int> from_ok_status(Status::Ok());
  EXPECT_THAT(from_ok_status, StatusIs(StatusCode::kInternal));
  EXPECT_EQ(Half(3).value_or(-1), -1);
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r(Status::NotFound("nope"));
  EXPECT_DEATH((void)r.value(), "nope");
}

TEST(StringsTest, SplitTrimParse) {
  auto parts = base::Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  auto dat = base::Split("1::1193::5::978300760", "::");
  ASSERT_EQ(dat.size(), 4u);
  EXPECT_EQ(dat[3], "978300760");
  EXPECT_EQ(base::Trim("  x y \r\n"), "x y");
  EXPECT_EQ(base::StripCr("abc\r"), "abc");
  EXPECT_EQ(*base::ParseInt64("-42"), -42);
  EXPECT_FALSE(base::ParseInt64("4x").ok());
  EXPECT_FALSE(base::ParseInt64("").ok());
  EXPECT_DOUBLE_EQ(*base::ParseDouble("3.5"), 3.5);
  EXPECT_FALSE(base::ParseDouble("nan").ok());
  EXPECT_FALSE(base::ParseDouble("inf").ok());
  EXPECT_THAT(base::ParseDouble("x"), StatusIs(StatusCode::kInvalidArgument, HasSubstr("'x'")));
}

TEST(StringsTest, Latin1AndUtf8) {
  const std::string latin1 = "Caf\xe9";
  const std::string utf8 = base::Latin1ToUtf8(latin1);
  EXPECT_EQ(utf8, "Caf\xc3\xa9");
  EXPECT_TRUE(base::IsValidUtf8(utf8));
  EXPECT_FALSE(base::IsValidUtf8(latin1));
  EXPECT_FALSE(base::IsValidUtf8("\xc3"));
  EXPECT_TRUE(base::IsValidUtf8("plain"));
}

TEST(TimeTest, ParsesIso8601) {
  EXPECT_EQ(*base::ParseIso8601("1970-01-01"), 0);
  EXPECT_EQ(*base::ParseIso8601("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*base::ParseIso8601("2023-11-14T22:13:20.5Z"), 1700000000500);
  EXPECT_EQ(*base::ParseIso8601("2023-11-15T00:13:20+02:00"), 1700000000000);
  EXPECT_EQ(*base::ParseIso8601("2023-11-14 22:13:20"), 1700000000000);
  EXPECT_EQ(*base::ParseIso8601("2000-02-29T00:00:00Z"), 951782400000);
  EXPECT_FALSE(base::ParseIso8601("2023-02-29").ok());
  EXPECT_FALSE(base::ParseIso8601("2023-13-01").ok());
  EXPECT_FALSE(base::ParseIso8601("2023-11-14T25:00:00Z").ok());
  EXPECT_FALSE(base::ParseIso8601("2023-11-14T22:13:20Zjunk").ok());
  EXPECT_FALSE(base::ParseIso8601("yesterday").ok());
}

// Zone offsets follow RFC 3339's time-numoffset: hours 00..23, minutes 00..59 (issue 17,
// item 10: "+99:99" was accepted and shifted the time by four days).
TEST(TimeTest, ZoneOffsetOutOfRangeIsRefused) {
  EXPECT_EQ(*base::ParseIso8601("2023-11-15T21:59:20+23:59"), 1700000000000 - 13 * 60'000);
  EXPECT_EQ(*base::ParseIso8601("2023-11-14T22:13:20-00:00"), 1700000000000);
  EXPECT_EQ(*base::ParseIso8601("2023-11-15T00:13:20+0200"), 1700000000000);
  for (const char* bad :
       {"2023-11-14T22:13:20+99:99", "2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20-23:60",
        "2023-11-14T22:13:20+2:00", "2023-11-14T22:13:20+02:0"}) {
    auto parsed = base::ParseIso8601(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("zone offset"), std::string::npos) << bad;
  }
}

TEST(TimeTest, FormatRoundTrips) {
  EXPECT_EQ(base::FormatIso8601(1700000000123), "2023-11-14T22:13:20.123Z");
  for (int64_t ts : {0LL, 951782400000LL, 1700000000123LL, 4102444800000LL}) {
    EXPECT_EQ(*base::ParseIso8601(base::FormatIso8601(ts)), ts);
  }
}

TEST(RngTest, DeterministicAndUniform) {
  base::Rng a(7);
  base::Rng b(7);
  base::Rng c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
  base::Rng rng(1);
  int counts[10] = {};
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng.Uniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int count : counts) {
    EXPECT_NEAR(count, 10000, 500);
  }
  double sum = 0;
  double sum_sq = 0;
  for (int i = 0; i < 100000; ++i) {
    const double x = rng.Normal();
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / 100000, 0.0, 0.02);
  EXPECT_NEAR(sum_sq / 100000, 1.0, 0.03);
}

}  // namespace
}  // namespace flywheel
