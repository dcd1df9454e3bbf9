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

TEST(SeqFileReaderTest, OneEventPerItemAtItsPosition) {
  TempDir dir;
  const std::string path = dir.WriteFile("seq.txt", "1 10 11 12\r\n\n2  12\t13 \n3 11\n");
  Result<std::unique_ptr<EventReader>> reader = OpenSeqFile(path, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_FALSE((*reader)->has_timestamps());
  EXPECT_FALSE((*reader)->time_ordered());
  ASSERT_EQ((*reader)->notes().size(), 1u);
  EXPECT_THAT((*reader)->notes()[0], HasSubstr("k-th item is at time k"));
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,10,click,1,0", "1,11,click,1,1000", "1,12,click,1,2000",
                                   "2,12,click,1,0", "2,13,click,1,1000", "3,11,click,1,0"));
  EXPECT_EQ((*reader)->stats().lines, 4);
  EXPECT_EQ((*reader)->stats().events, 6);
}

TEST(SeqFileReaderTest, LoadedDatasetKeepsEachUsersOrder) {
  TempDir dir;
  const std::string path = dir.WriteFile("seq.txt", "7 3 2 1\n8 1 3\n");
  Result<Dataset> dataset = LoadDataset("seqfile:" + path, EventTypeTable::Default(), SkipPolicy{});
  ASSERT_OK(dataset);
  EXPECT_FALSE(dataset->has_timestamps);
  std::vector<std::string> order;
  for (const auto& e : dataset->events) {
    order.push_back(dataset->users.external(e.user) + ":" + dataset->items.external(e.item));
  }
  // Interleaved by position, each user's own order kept.
  EXPECT_THAT(order, ElementsAre("7:3", "8:1", "7:2", "8:3", "7:1"));
}

TEST(SeqFileReaderTest, MalformedLinesNameFileLineAndToken) {
  TempDir dir;
  const std::string bad_item = dir.WriteFile("a.txt", "1 10 11\n2 12 x3 14\n");
  Result<std::unique_ptr<EventReader>> reader = OpenSeqFile(bad_item, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_THAT(ReadAll(**reader),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("data: a.txt:2: field 'item': token 3: not an integer id: 'x3'")));

  const std::string bad_user = dir.WriteFile("b.txt", "u1 10\n");
  reader = OpenSeqFile(bad_user, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_THAT(ReadAll(**reader), StatusIs(StatusCode::kInvalidArgument,
                                          HasSubstr("b.txt:1: field 'user': not an integer id")));

  const std::string lonely = dir.WriteFile("c.txt", "1 10\n5\n");
  reader = OpenSeqFile(lonely, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_THAT(ReadAll(**reader),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("c.txt:2: field 'line': expected 'user item [item ...]'")));

  const std::string twice = dir.WriteFile("d.txt", "1 10\n2 11\n1 12\n");
  reader = OpenSeqFile(twice, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_THAT(ReadAll(**reader),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("d.txt:3: field 'user': user '1' already has line 1")));
}

TEST(SeqFileReaderTest, SkipPolicyDropsWholeLines) {
  TempDir dir;
  const std::string path = dir.WriteFile("s.txt", "1 10 11\n2 12 x 14\n3 15\n");
  Result<std::unique_ptr<EventReader>> reader = OpenSeqFile(path, SkipPolicy{.max_skipped = 1});
  ASSERT_OK(reader);
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,10,click,1,0", "1,11,click,1,1000", "3,15,click,1,0"));
  EXPECT_EQ((*reader)->stats().skipped, 1);
  EXPECT_EQ((*reader)->stats().skipped_by_reason.at("field 'item'"), 1);
}

TEST(SeqFileReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(OpenSeqFile("/nonexistent/seq.txt", SkipPolicy{}),
              StatusIs(StatusCode::kNotFound, HasSubstr("seq.txt")));
}

}  // namespace
}  // namespace flywheel::data
