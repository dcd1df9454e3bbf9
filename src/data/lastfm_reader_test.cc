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
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kArtists[] =
    "id\tname\turl\tpictureURL\n"
    "51\tDuran Duran\thttp://www.last.fm/music/Duran+Duran\thttp://x/1.jpg\n"
    "52\tMorcheeba\thttp://www.last.fm/music/Morcheeba\t\n"
    "53\t\"Weird Al\" Yankovi\xC4\x87\thttp://x\thttp://y\n";

TEST(LastfmReaderTest, PlaysWithCrlfAndArtistTitles) {
  TempDir dir;
  dir.WriteFile("user_artists.dat",
                "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t53\t1\r\n");
  dir.WriteFile("artists.dat", kArtists);
  Result<std::unique_ptr<EventReader>> reader = OpenLastfm(dir.path(), SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_FALSE((*reader)->has_timestamps());
  EXPECT_EQ((*reader)->default_positive(), "all");
  ASSERT_EQ((*reader)->notes().size(), 1u);
  EXPECT_THAT((*reader)->notes()[0], HasSubstr("no timestamps: file order is used as time"));
  const std::vector<Item>& items = (*reader)->items();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "51");
  EXPECT_EQ(items[0].title, "Duran Duran");
  EXPECT_EQ(items[2].title, "\"Weird Al\" Yankovi\xC4\x87");  // quotes kept, UTF-8 kept
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("2,51,play,13883,0", "2,52,play,11690,0", "3,53,play,1,0"));
  EXPECT_EQ((*reader)->stats().lines, 4);
  EXPECT_EQ((*reader)->stats().events, 3);
}

TEST(LastfmReaderTest, FilePathWithoutArtists) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("user_artists.dat", "userID\tartistID\tweight\n2\t51\t7\n");
  Result<std::unique_ptr<EventReader>> reader = OpenLastfm(path, SkipPolicy{});
  ASSERT_OK(reader);
  EXPECT_THAT((*reader)->items(), IsEmpty());
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("2,51,play,7,0"));
}

TEST(LastfmReaderTest, MalformedLines) {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {"2\t51\tmany", "user_artists.dat:3: field 'weight': not a number: 'many'"},
      {"2\t51\t-4", "user_artists.dat:3: field 'weight': negative play count: '-4'"},
      {"2\t51", "user_artists.dat:3: field 'columns': expected 3 columns, got 2"},
      {"2\tx\t5", "user_artists.dat:3: field 'item': not an integer id: 'x'"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    dir.WriteFile("user_artists.dat", "userID\tartistID\tweight\r\n2\t52\t1\r\n" + c.line + "\r\n");
    Result<std::unique_ptr<EventReader>> reader = OpenLastfm(dir.path(), SkipPolicy{});
    ASSERT_OK(reader);
    EXPECT_THAT(ReadAll(**reader), StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.line;
  }
}

TEST(LastfmReaderTest, BadHeadersAndBadArtistLines) {
  TempDir header;
  header.WriteFile("user_artists.dat", "user\tartist\tweight\n2\t51\t7\n");
  EXPECT_THAT(OpenLastfm(header.path(), SkipPolicy{}),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("user_artists.dat:1: field 'header': expected")));

  TempDir artists;
  artists.WriteFile("user_artists.dat", "userID\tartistID\tweight\n2\t51\t7\n");
  artists.WriteFile("artists.dat", "id\tname\turl\tpictureURL\n51\tDuran Duran\n52\tA\tu\tp\n");
  EXPECT_THAT(OpenLastfm(artists.path(), SkipPolicy{}),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("artists.dat:2: field 'columns': expected 4 columns, got 2")));
  Result<std::unique_ptr<EventReader>> reader = OpenLastfm(artists.path(), SkipPolicy{1});
  ASSERT_OK(reader);
  ASSERT_EQ((*reader)->items().size(), 1u);
  EXPECT_EQ((*reader)->items()[0].id, "52");
  EXPECT_THAT((*reader)->stats().skipped_by_reason, ElementsAre(Pair("field 'columns'", 1)));
}

}  // namespace
}  // namespace flywheel::data
