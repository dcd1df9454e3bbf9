// Regression tests for base/time_util.h found by the fuzz target fuzz/iso8601 (doc/fuzzing.md);
// the general parsing tests are in status_test.cc.
#include "base/time_util.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/result.h"

#include "testing/status_matchers.h"

namespace flywheel::base {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

// fuzz/corpus/iso8601/crash-49088f73...: a leap second on the last day of 9999 was accepted as
// an instant of the year 10000, which FormatIso8601 writes as "10000-01-01T00:00:00.000Z", a
// text ParseIso8601 refuses (so an accepted time did not round-trip).
TEST(TimeUtilTest, RefusesInstantsPastTheYear9999) {
  EXPECT_THAT(ParseIso8601("9999-12-31T23:59:60Z"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("outside the years 0000 to 9999")));
  EXPECT_THAT(ParseIso8601("9999-12-31T23:30:00-01:00"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("outside the years 0000 to 9999")));
  EXPECT_THAT(ParseIso8601("0000-01-01T00:30:00+01:00"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("outside the years 0000 to 9999")));
}

TEST(TimeUtilTest, TheExtremesRoundTrip) {
  for (const std::string text : {"0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"}) {
    const Result<TimestampMs> ts = ParseIso8601(text);
    ASSERT_TRUE(ts.ok()) << text << ": " << ts.status().ToString();
    EXPECT_EQ(FormatIso8601(*ts), text);
  }
  EXPECT_EQ(*ParseIso8601("0000-01-01"), kMinIso8601Ms);
  EXPECT_EQ(*ParseIso8601("9999-12-31T23:59:59.999Z"), kMaxIso8601Ms);
}

}  // namespace
}  // namespace flywheel::base
