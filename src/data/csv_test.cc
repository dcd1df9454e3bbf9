#include "data/csv.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Split(std::string_view line) {
  std::vector<std::string> fields;
  EXPECT_OK(SplitCsvLine(line, ',', &fields));
  return fields;
}

TEST(SplitCsvLineTest, PlainFields) {
  EXPECT_THAT(Split("1,2,3.5,964982703"), ElementsAre("1", "2", "3.5", "964982703"));
}

TEST(SplitCsvLineTest, EmptyFieldsAreKept) {
  EXPECT_THAT(Split(""), ElementsAre(""));
  EXPECT_THAT(Split(",a,,"), ElementsAre("", "a", "", ""));
  EXPECT_THAT(Split("108583,,,Comedy"), ElementsAre("108583", "", "", "Comedy"));
}

TEST(SplitCsvLineTest, QuotedFieldWithSeparatorsAndEscapedQuotes) {
  EXPECT_THAT(Split("11,\"American President, The (1995)\",Comedy|Drama|Romance"),
              ElementsAre("11", "American President, The (1995)", "Comedy|Drama|Romance"));
  EXPECT_THAT(Split("7789,\"11'09\"\"01 - September 11 (2002)\",Drama"),
              ElementsAre("7789", "11'09\"01 - September 11 (2002)", "Drama"));
  EXPECT_THAT(Split("\"\",x"), ElementsAre("", "x"));
  EXPECT_THAT(Split("a,\"b\""), ElementsAre("a", "b"));
}

TEST(SplitCsvLineTest, QuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_THAT(Split("a\"b,c"), ElementsAre("a\"b", "c"));
}

TEST(SplitCsvLineTest, OtherSeparator) {
  std::vector<std::string> fields;
  ASSERT_OK(SplitCsvLine("a\t\"b\tc\"\td", '\t', &fields));
  EXPECT_THAT(fields, ElementsAre("a", "b\tc", "d"));
}

TEST(SplitCsvLineTest, ReusesBuffersAcrossCalls) {
  std::vector<std::string> fields;
  ASSERT_OK(SplitCsvLine("a,b,c,d", ',', &fields));
  ASSERT_OK(SplitCsvLine("x,y", ',', &fields));
  EXPECT_THAT(fields, ElementsAre("x", "y"));
  ASSERT_OK(SplitCsvLine("1,2,3", ',', &fields));
  EXPECT_THAT(fields, ElementsAre("1", "2", "3"));
}

TEST(SplitCsvLineTest, UnterminatedQuoteIsAnError) {
  std::vector<std::string> fields;
  EXPECT_THAT(SplitCsvLine("1,\"Toy Story,Comedy", ',', &fields),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unterminated quoted field")));
}

TEST(SplitCsvLineTest, GarbageAfterClosingQuoteIsAnError) {
  std::vector<std::string> fields;
  EXPECT_THAT(SplitCsvLine("1,\"Toy\" Story,Comedy", ',', &fields),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("after closing quote at column 8")));
}

}  // namespace
}  // namespace flywheel::data
