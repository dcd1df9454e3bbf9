#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

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

// 24 '|'-separated u.item columns with the genre flags at the given positions set.
std::string ItemLine(const std::string& id, const std::string& title,
                     const std::vector<int>& genres) {
  std::string flags[19];
  for (auto& f : flags) {
    f = "0";
  }
  for (int g : genres) {
    flags[g] = "1";
  }
  std::string line = id + "|" + title + "|01-Jan-1995||http://example.com/x";
  for (const auto& f : flags) {
    line += "|" + f;
  }
  return line + "\n";
}

void WriteGzip(const std::string& path, const std::string& contents) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, contents.data(), static_cast<unsigned>(contents.size())),
            static_cast<int>(contents.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

std::unique_ptr<EventReader> Open(const std::string& path, int64_t max_skipped = 0) {
  Result<std::unique_ptr<EventReader>> reader = OpenMovieLens(path, SkipPolicy{max_skipped});
  EXPECT_OK(reader);
  return reader.ok() ? std::move(reader).value() : nullptr;
}

// The error of reading the whole ratings file in `dir`.
Status ReadError(const std::string& dir) {
  Result<std::unique_ptr<EventReader>> reader = OpenMovieLens(dir, SkipPolicy{});
  if (!reader.ok()) {
    return reader.status();
  }
  return ReadAll(**reader).status();
}

TEST(MovieLensReaderTest, Ml100kEventsAndItems) {
  TempDir dir;
  dir.WriteFile("u.data", "196\t242\t3\t881250949\n186\t302\t5\t891717742\n");
  dir.WriteFile("u.item", ItemLine("242", "Kolya (1996)", {5}) +
                              ItemLine("302", "Mis\xE9rables, Les (1995)", {8, 16}) +
                              ItemLine("267", "unknown", {0}));
  auto reader = Open(dir.path());
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->default_positive(), "rating>=4");
  EXPECT_FALSE(reader->time_ordered());
  EXPECT_TRUE(reader->has_timestamps());
  ASSERT_EQ(reader->items().size(), 3u);
  const Item& kolya = reader->items()[0];
  EXPECT_EQ(kolya.id, "242");
  EXPECT_EQ(kolya.title, "Kolya (1996)");
  EXPECT_THAT(kolya.categories, ElementsAre("Comedy"));
  EXPECT_THAT(kolya.attributes, ElementsAre(Pair("year", "1996")));
  const Item& miserables = reader->items()[1];
  EXPECT_EQ(miserables.title, "Mis\xC3\xA9rables, Les (1995)");  // Latin-1 -> UTF-8
  EXPECT_THAT(miserables.categories, ElementsAre("Drama", "Thriller"));
  const Item& unknown = reader->items()[2];
  EXPECT_THAT(unknown.categories, IsEmpty());  // the "unknown" flag is not a category
  EXPECT_THAT(unknown.attributes, IsEmpty());

  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events,
              ElementsAre("196,242,rating,3,881250949000", "186,302,rating,5,891717742000"));
  EXPECT_EQ(reader->stats().lines, 2);
  EXPECT_EQ(reader->stats().events, 2);
  EXPECT_EQ(reader->stats().skipped, 0);
}

TEST(MovieLensReaderTest, Ml100kGenreNamesFromUGenre) {
  TempDir dir;
  dir.WriteFile("u.data", "1\t1\t4\t1\n");
  std::string genres;
  for (int g = 0; g < 19; ++g) {
    genres += (g == 0 ? std::string("unknown") : "G" + std::to_string(g)) + "|" +
              std::to_string(g) + "\n";
  }
  dir.WriteFile("u.genre", genres + "\n");
  dir.WriteFile("u.item", ItemLine("1", "Toy Story (1995)", {3, 4, 5}));
  auto reader = Open(dir.path() + "/u.data");
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->items().size(), 1u);
  EXPECT_THAT(reader->items()[0].categories, ElementsAre("G3", "G4", "G5"));
}

TEST(MovieLensReaderTest, SplitFileIsSniffedAndUsesItemsOfItsDirectory) {
  TempDir dir;
  dir.WriteFile("u1.base", "1\t1\t5\t874965758\n");
  dir.WriteFile("u.item", ItemLine("1", "Toy Story (1995)", {3}));
  auto reader = Open(dir.path() + "/u1.base");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->items().size(), 1u);
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,1,rating,5,874965758000"));
}

TEST(MovieLensReaderTest, Ml100kMalformedLinesNameFileLineAndField) {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {"196\t242\tx\t881250949", "u.data:2: field 'rating': not a number: 'x'"},
      {"196\t242\t7\t881250949", "u.data:2: field 'rating': out of range [0.5, 5]: '7'"},
      {"196\t242\t0\t881250949", "u.data:2: field 'rating': out of range"},
      {"196\t242\t3", "u.data:2: field 'columns': expected 4 columns, got 3"},
      {"196\t242\t3\t8812x", "u.data:2: field 'timestamp': not an integer: '8812x'"},
      {"u9\t242\t3\t881250949", "u.data:2: field 'user': not an integer id: 'u9'"},
      {"196\t\t3\t881250949", "u.data:2: field 'item': not an integer id: ''"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    dir.WriteFile("u.data", "1\t1\t4\t1\n" + c.line + "\n");
    EXPECT_THAT(ReadError(dir.path()), StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.line;
  }
}

TEST(MovieLensReaderTest, SkipPolicyCountsAndContinues) {
  TempDir dir;
  dir.WriteFile("u.data", "1\t1\t4\t1\n1\t2\tx\t2\n\n1\t3\t5\t3\n1\t4\n2\t1\t1\t4\n2\t2\tbad\t5\n");
  auto reader = Open(dir.path(), /*max_skipped=*/3);
  ASSERT_NE(reader, nullptr);
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,1,rating,4,1000", "1,3,rating,5,3000", "2,1,rating,1,4000"));
  const ReadStats& stats = reader->stats();
  EXPECT_EQ(stats.lines, 7);
  EXPECT_EQ(stats.events, 3);
  EXPECT_EQ(stats.skipped, 3);
  EXPECT_THAT(stats.skipped_by_reason,
              ElementsAre(Pair("field 'columns'", 1), Pair("field 'rating'", 2)));
  EXPECT_EQ(stats.first_error, "data: u.data:2: field 'rating': not a number: 'x'");
}

TEST(MovieLensReaderTest, SkipPolicyFailsOnceExceeded) {
  TempDir dir;
  dir.WriteFile("u.data", "1\t1\t4\t1\n1\t2\tx\t2\n1\t3\t5\t3\n1\t4\ty\t4\n1\t5\t5\t5\n");
  auto reader = Open(dir.path(), /*max_skipped=*/1);
  ASSERT_NE(reader, nullptr);
  Event event;
  ASSERT_TRUE(*reader->Next(&event));
  ASSERT_TRUE(*reader->Next(&event));  // line 2 skipped
  EXPECT_EQ(event.item, "3");
  EXPECT_THAT(reader->Next(&event),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("u.data:4: field 'rating'")));
  EXPECT_EQ(reader->stats().skipped, 1);
}

TEST(MovieLensReaderTest, Ml1mGzipRatingsAndLatin1Movies) {
  TempDir dir;
  WriteGzip(dir.path() + "/ratings.dat.gz", "1::1193::5::978300760\n1::661::3::978302109\n");
  dir.WriteFile("movies.dat",
                "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
                "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
                "3::Caf\xE9 au lait (Gazon maudit) (1995)::Comedy\n");
  auto reader = Open(dir.path());
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->items().size(), 3u);
  EXPECT_EQ(reader->items()[0].id, "661");
  EXPECT_THAT(reader->items()[0].categories, ElementsAre("Animation", "Children's", "Musical"));
  EXPECT_THAT(reader->items()[0].attributes, ElementsAre(Pair("year", "1996")));
  EXPECT_EQ(reader->items()[2].title, "Caf\xC3\xA9 au lait (Gazon maudit) (1995)");
  EXPECT_THAT(reader->items()[2].attributes, ElementsAre(Pair("year", "1995")));
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,1193,rating,5,978300760000", "1,661,rating,3,978302109000"));
}

TEST(MovieLensReaderTest, Ml1mCrlfAndErrors) {
  TempDir dir;
  dir.WriteFile("ratings.dat", "1::1193::5::978300760\r\n2::3::4::1\r\n");
  auto reader = Open(dir.path());
  ASSERT_NE(reader, nullptr);
  EXPECT_THAT(reader->items(), IsEmpty());  // no movies.dat
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,1193,rating,5,978300760000", "2,3,rating,4,1000"));

  TempDir bad;
  bad.WriteFile("ratings.dat", "1::1193::5::978300760\n1::1193::5\n");
  EXPECT_THAT(ReadError(bad.path()),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("ratings.dat:2: field 'columns': expected 4 columns, got 3")));
}

TEST(MovieLensReaderTest, Ml1mGzipErrorNamesTheGzFile) {
  TempDir dir;
  WriteGzip(dir.path() + "/ratings.dat.gz", "1::1193::5::978300760\n1::x::5::978300760\n");
  EXPECT_THAT(ReadError(dir.path()),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("ratings.dat.gz:2: field 'item': not an integer id: 'x'")));
}

TEST(MovieLensReaderTest, LatestSmallWithQuotedTitlesAndTags) {
  TempDir dir;
  dir.WriteFile("ratings.csv",
                "userId,movieId,rating,timestamp\r\n1,11,4.0,964982703\r\n"
                "2,7789,0.5,964981247\r\n");
  dir.WriteFile("movies.csv",
                "movieId,title,genres\n"
                "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
                "7789,\"11'09\"\"01 - September 11 (2002)\",Drama\n"
                "40697,Babylon 5,(no genres listed)\n");
  dir.WriteFile("tags.csv",
                "userId,movieId,tag,timestamp\n2,11,funny,1445714994\n3,11,\"sad, really\",1\n"
                "4,11,funny,1445714999\n5,999,orphan,1\n");
  auto reader = Open(dir.path());
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->items().size(), 3u);
  const Item& president = reader->items()[0];
  EXPECT_EQ(president.title, "American President, The (1995)");
  EXPECT_THAT(president.categories, ElementsAre("Comedy", "Drama", "Romance"));
  EXPECT_THAT(president.attributes, ElementsAre(Pair("year", "1995")));
  EXPECT_THAT(president.tags, ElementsAre("funny", "sad, really"));
  EXPECT_EQ(reader->items()[1].title, "11'09\"01 - September 11 (2002)");
  EXPECT_THAT(reader->items()[2].categories, IsEmpty());
  EXPECT_THAT(reader->items()[2].attributes, IsEmpty());
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("1,11,rating,4,964982703000", "2,7789,rating,0.5,964981247000"));
  EXPECT_EQ(reader->stats().lines, 3);  // header included
  EXPECT_EQ(reader->stats().events, 2);
}

TEST(MovieLensReaderTest, LatestSmallErrors) {
  TempDir header;
  header.WriteFile("ratings.csv", "user,movie,rating,timestamp\n1,1,4,1\n");
  EXPECT_THAT(
      OpenMovieLens(header.path(), SkipPolicy{5}),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("ratings.csv:1: field 'header': expected "
                                                       "'userId,movieId,rating,timestamp'")));
  TempDir movies;
  movies.WriteFile("ratings.csv", "userId,movieId,rating,timestamp\n");
  movies.WriteFile("movies.csv", "movieId,title,genres\n1,\"Toy Story (1995),Comedy\n");
  EXPECT_THAT(OpenMovieLens(movies.path(), SkipPolicy{}),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("movies.csv:2: field 'columns': unterminated quoted field")));
  TempDir rating;
  rating.WriteFile("ratings.csv", "userId,movieId,rating,timestamp\n1,1,5.5,1\n");
  EXPECT_THAT(ReadError(rating.path()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("ratings.csv:2: field 'rating'")));
}

TEST(MovieLensReaderTest, DslabsItemsComeFromItsOwnColumns) {
  TempDir dir;
  dir.WriteFile("movielens.csv",
                "movieId,title,year,genres,userId,rating,timestamp\n"
                "31,Dangerous Minds,1995,Drama,1,2.5,1260759144\n"
                "11,\"American President, The\",1995,Comedy|Drama|Romance,1,3.0,1260759179\n"
                "108583,,,Comedy,73,5.0,1435472609\n"
                "31,Dangerous Minds,1995,Drama,2,4.0,1260759200\n");
  auto reader = Open(dir.path());
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->items().size(), 3u);
  EXPECT_EQ(reader->items()[0].id, "31");
  EXPECT_EQ(reader->items()[0].title, "Dangerous Minds");
  EXPECT_THAT(reader->items()[0].attributes, ElementsAre(Pair("year", "1995")));
  EXPECT_EQ(reader->items()[1].title, "American President, The");
  EXPECT_THAT(reader->items()[1].categories, ElementsAre("Comedy", "Drama", "Romance"));
  EXPECT_EQ(reader->items()[2].title, "");
  EXPECT_THAT(reader->items()[2].attributes, IsEmpty());
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events,
              ElementsAre("1,31,rating,2.5,1260759144000", "1,11,rating,3,1260759179000",
                          "73,108583,rating,5,1435472609000", "2,31,rating,4,1260759200000"));
}

TEST(MovieLensReaderTest, DslabsMalformedLines) {
  TempDir dir;
  dir.WriteFile("movielens.csv",
                "movieId,title,year,genres,userId,rating,timestamp\n"
                "31,Dangerous Minds,1995,Drama,1,2.5,1260759144\n"
                "32,Twelve Monkeys,19x5,Drama,1,2.5,1260759144\n"
                "33,Other,1995,Drama,1,2.5\n");
  EXPECT_THAT(ReadError(dir.path()),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("movielens.csv:3: field 'year': not an integer id: '19x5'")));
  auto reader = Open(dir.path(), /*max_skipped=*/2);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->items().size(), 1u);  // malformed lines give no items
  Result<std::vector<std::string>> events = ReadAll(*reader);
  ASSERT_OK(events);
  EXPECT_EQ(events->size(), 1u);
  EXPECT_THAT(reader->stats().skipped_by_reason,
              ElementsAre(Pair("field 'columns'", 1), Pair("field 'year'", 1)));
}

TEST(MovieLensReaderTest, MissingInputIsNotFound) {
  TempDir dir;
  EXPECT_THAT(OpenMovieLens(dir.path(), SkipPolicy{}),
              StatusIs(StatusCode::kNotFound, HasSubstr("no MovieLens ratings file")));
  EXPECT_THAT(OpenMovieLens(dir.path() + "/nope.dat", SkipPolicy{}),
              StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace flywheel::data
