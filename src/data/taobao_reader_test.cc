#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/dataset.h"
#include "data/reader_test_util.h"
#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::data::test_util::ReadAll;
using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(TaobaoReaderTest, MapsBehaviorsAndCollectsItemCategories) {
  TempDir dir;
  dir.WriteFile("UserBehavior.csv",
                "1,2268318,2520377,pv,1511544070\n"
                "1,2333346,2520771,cart,1511561733\n"
                "1,2268318,999,fav,1511572885\n"
                "100,2576651,149192,buy,1511572886\n");
  Result<std::unique_ptr<EventReader>> reader = OpenTaobao(dir.path(), SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_EQ((*reader)->default_positive(), "all");
  EXPECT_FALSE((*reader)->time_ordered());
  ASSERT_EQ((*reader)->notes().size(), 1u);
  EXPECT_THAT((*reader)->notes()[0], HasSubstr("pv -> click"));
  const std::vector<Item>& items = (*reader)->items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "2268318");
  EXPECT_THAT(items[0].categories, ElementsAre("2520377"));  // first seen wins
  EXPECT_EQ(items[1].id, "2333346");
  EXPECT_THAT(items[2].categories, ElementsAre("149192"));
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events,
              ElementsAre("1,2268318,click,1,1511544070000", "1,2333346,cart,1,1511561733000",
                          "1,2268318,fav,1,1511572885000", "100,2576651,purchase,1,1511572886000"));
  EXPECT_EQ((*reader)->stats().lines, 4);
  EXPECT_EQ((*reader)->stats().events, 4);
}

TEST(TaobaoReaderTest, OpensTheFileDirectlyWithCrlf) {
  TempDir dir;
  const std::string path = dir.WriteFile("head.csv", "7,8,9,pv,10\r\n");
  Result<std::unique_ptr<EventReader>> reader = OpenTaobao(path, SkipPolicy{});
  ASSERT_OK(reader);
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("7,8,click,1,10000"));
}

TEST(TaobaoReaderTest, MalformedLinesNameFileLineAndField) {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {"1,2,3,view,1511544070",
       "UserBehavior.csv:2: field 'behavior': unknown behavior 'view' (expected pv, cart, fav, "
       "buy)"},
      {"1,2,3,pv", "UserBehavior.csv:2: field 'columns': expected 5 columns, got 4"},
      {"1,2,3,pv,1511544070,9", "UserBehavior.csv:2: field 'columns': expected 5 columns, got 6"},
      {"1,2,3,pv,15x", "UserBehavior.csv:2: field 'timestamp': not an integer: '15x'"},
      {"1,2,c3,pv,1", "UserBehavior.csv:2: field 'category': not an integer id: 'c3'"},
      {"-1,2,3,pv,1", "UserBehavior.csv:2: field 'user': not an integer id: '-1'"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    dir.WriteFile("UserBehavior.csv", "1,2,3,pv,1\n" + c.line + "\n");
    Result<std::unique_ptr<EventReader>> reader = OpenTaobao(dir.path(), SkipPolicy{});
    ASSERT_OK(reader);
    EXPECT_THAT(ReadAll(**reader), StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.line;
  }
}

TEST(TaobaoReaderTest, SkipPolicyCountsAndContinues) {
  TempDir dir;
  dir.WriteFile("UserBehavior.csv", "1,2,3,pv,1\n1,5,6,like,2\n1,4,3,buy,3\n1,7,8,pv\n");
  Result<std::unique_ptr<EventReader>> reader = OpenTaobao(dir.path(), SkipPolicy{2});
  ASSERT_OK(reader);
  EXPECT_EQ((*reader)->items().size(), 2u);  // items of malformed lines are not collected
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,2,click,1,1000", "1,4,purchase,1,3000"));
  EXPECT_EQ((*reader)->stats().skipped, 2);
  EXPECT_THAT((*reader)->stats().skipped_by_reason,
              ElementsAre(Pair("field 'behavior'", 1), Pair("field 'columns'", 1)));
  EXPECT_THAT((*reader)->stats().first_error, HasSubstr("UserBehavior.csv:2: field 'behavior'"));
}

TEST(TaobaoReaderTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_THAT(OpenTaobao(dir.path(), SkipPolicy{}), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace flywheel::data
