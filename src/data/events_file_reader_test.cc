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

Result<std::unique_ptr<EventReader>> Open(const std::string& path, int64_t max_skipped = 0) {
  return OpenEventsFile(path, EventTypeTable::Default(), SkipPolicy{max_skipped});
}

Status ReadError(const std::string& path) {
  Result<std::unique_ptr<EventReader>> reader = Open(path);
  if (!reader.ok()) {
    return reader.status();
  }
  return ReadAll(**reader).status();
}

TEST(EventsFileReaderTest, JsonLinesSkipsBlankAndCommentLines) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("events.jsonl",
                    "# exported 2023-11-14\n"
                    "{\"user\":\"u1\",\"item\":\"i9\",\"type\":\"click\",\"ts\":1700000000000}\n"
                    "\n   \r\n"
                    "{\"user\":\"u2\",\"item\":\"i1\",\"type\":\"rating\",\"value\":4.5,"
                    "\"ts\":\"2023-11-14T22:13:20Z\",\"id\":\"e-2\"}\r\n");
  Result<std::unique_ptr<EventReader>> reader = Open(path);
  ASSERT_OK(reader);
  EXPECT_THAT((*reader)->items(), IsEmpty());
  Event event;
  ASSERT_TRUE(*(*reader)->Next(&event));
  EXPECT_EQ(event.user, "u1");
  ASSERT_TRUE(*(*reader)->Next(&event));
  EXPECT_EQ(event.id, "e-2");
  EXPECT_EQ(event.ts_ms, 1700000000000);
  EXPECT_EQ(event.value, 4.5);
  EXPECT_FALSE(*(*reader)->Next(&event));
  EXPECT_EQ((*reader)->stats().lines, 5);
  EXPECT_EQ((*reader)->stats().events, 2);
}

TEST(EventsFileReaderTest, GzippedNdjson) {
  TempDir dir;
  const std::string path = dir.path() + "/events.ndjson.gz";
  const std::string line =
      "{\"user\":\"u\",\"item\":\"i\",\"type\":\"buy\",\"ts\":1700000000000}\n";
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  gzwrite(gz, line.data(), static_cast<unsigned>(line.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  Result<std::unique_ptr<EventReader>> reader = Open(path);
  ASSERT_OK(reader);
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_THAT((*events)[0], HasSubstr("u,i,"));
}

TEST(EventsFileReaderTest, JsonErrorsNameFileAndLine) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("e.json",
                    "{\"user\":\"u1\",\"item\":\"i9\",\"type\":\"click\",\"ts\":1700000000000}\n"
                    "{\"usr\":\"u1\",\"item\":\"i9\",\"type\":\"click\",\"ts\":1700000000000}\n");
  EXPECT_THAT(ReadError(path), StatusIs(StatusCode::kInvalidArgument,
                                        HasSubstr("e.json:2: event: unknown field 'usr'")));
  const std::string broken = dir.WriteFile("b.jsonl", "{\"user\":\n");
  EXPECT_THAT(ReadError(broken), StatusIs(StatusCode::kInvalidArgument,
                                          HasSubstr("b.jsonl:1: event: not valid JSON")));
}

TEST(EventsFileReaderTest, CsvTimestampInSecondsIsRefused) {
  TempDir dir;
  const std::string path = dir.WriteFile("s.csv",
                                         "user,item,type,ts\n"
                                         "u1,i1,click,1700000000000\n"
                                         "u1,i2,click,1700000001\n");
  EXPECT_THAT(ReadError(path),
              StatusIs(StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("s.csv:3"),
                                        HasSubstr("field 'ts': 1700000001 is 1970-01-20"))));
}

TEST(EventsFileReaderTest, CsvWithAnyColumnOrderIsoTimesAndQuotes) {
  TempDir dir;
  const std::string path = dir.WriteFile("events.csv",
                                         "ts,type,item,user,value,id\r\n"
                                         "1700000000000,click,\"sku,9\",u1,,\r\n"
                                         "2023-11-14T22:13:20.5Z,rating,i2,u2,3.5,e-7\r\n");
  Result<std::unique_ptr<EventReader>> reader = Open(path);
  ASSERT_OK(reader);
  Event event;
  ASSERT_TRUE(*(*reader)->Next(&event));
  EXPECT_EQ(event.user, "u1");
  EXPECT_EQ(event.item, "sku,9");
  EXPECT_EQ(event.type, "click");
  EXPECT_EQ(event.value, 1.0);
  EXPECT_EQ(event.ts_ms, 1700000000000);
  EXPECT_EQ(event.id, "");
  ASSERT_TRUE(*(*reader)->Next(&event));
  EXPECT_EQ(event.value, 3.5);
  EXPECT_EQ(event.ts_ms, 1700000000500);
  EXPECT_EQ(event.id, "e-7");
  EXPECT_FALSE(*(*reader)->Next(&event));
  EXPECT_EQ((*reader)->stats().lines, 3);
}

// CSV takes the ts forms JSON Lines takes: integer milliseconds and every ISO-8601 form,
// including a bare date (it was once read as a malformed integer).
TEST(EventsFileReaderTest, CsvTimestampsTakeTheJsonLinesForms) {
  TempDir dir;
  const std::string path = dir.WriteFile("dates.csv",
                                         "user,item,type,ts\n"
                                         "u,i1,click,2023-11-14\n"
                                         "u,i2,click,2023-11-14T22:13:20Z\n"
                                         "u,i3,click,2023-11-14 22:13:20\n"
                                         "u,i4,click,2023-11-14T22:13:20.123+02:00\n"
                                         "u,i5,click,1700000000000\n");
  auto reader = Open(path);
  ASSERT_OK(reader);
  auto events = ReadAll(**reader);
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 5u);
  EXPECT_THAT((*events)[0], ::testing::EndsWith(",1699920000000"));
  EXPECT_THAT((*events)[1], ::testing::EndsWith(",1700000000000"));
  EXPECT_THAT((*events)[2], ::testing::EndsWith(",1700000000000"));
  EXPECT_THAT((*events)[3], ::testing::EndsWith(",1699992800123"));
  EXPECT_THAT((*events)[4], ::testing::EndsWith(",1700000000000"));
  // Not a date nor an integer: the error names the field.
  EXPECT_THAT(ReadError(dir.WriteFile("bad.csv", "user,item,type,ts\nu,i,click,2023-13-99\n")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("bad.csv:2: field 'ts'")));
  EXPECT_THAT(ReadError(dir.WriteFile("minus.csv", "user,item,type,ts\nu,i,click,1-2\n")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'ts'")));
}

TEST(EventsFileReaderTest, CsvHeaderErrors) {
  TempDir dir;
  EXPECT_THAT(Open(dir.WriteFile("a.csv", "user,item,type,ts,price\n")),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("a.csv:1: field 'header': unknown column 'price'")));
  EXPECT_THAT(Open(dir.WriteFile("b.csv", "user,item,type\n")),
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("b.csv:1: field 'header': missing column 'ts'")));
  EXPECT_THAT(Open(dir.WriteFile("c.csv", "user,item,type,ts,user\n")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("duplicate column 'user'")));
  EXPECT_THAT(Open(dir.WriteFile("d.csv", "")),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("d.csv:1: field 'header'")));
}

TEST(EventsFileReaderTest, CsvMalformedLines) {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {"u,i,click,1700000000000,x", "e.csv:2: field 'value': not a number: 'x'"},
      {"u,i,click,yesterday,1", "e.csv:2: field 'ts'"},
      {"u,i,click", "e.csv:2: field 'columns': expected 5 columns, got 3"},
      {"u,i,teleport,1700000000000,1", "e.csv:2: event: field 'type'"},
      {",i,click,1700000000000,1", "e.csv:2: event: field 'user'"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const std::string path = dir.WriteFile("e.csv", "user,item,type,ts,value\n" + c.line + "\n");
    EXPECT_THAT(ReadError(path), StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.line;
  }
}

TEST(EventsFileReaderTest, CsvSkipPolicy) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("e.csv",
                    "user,item,type,ts\nu,i,click,1700000000001\nu,i,zap,1700000000002\n"
                    "u,j,view,1700000000003\nu,k,view\n");
  Result<std::unique_ptr<EventReader>> reader = Open(path, /*max_skipped=*/5);
  ASSERT_OK(reader);
  Result<std::vector<std::string>> events = ReadAll(**reader);
  ASSERT_OK(events);
  EXPECT_THAT(*events, ElementsAre("u,i,click,1,1700000000001", "u,j,view,1,1700000000003"));
  EXPECT_EQ((*reader)->stats().skipped, 2);
  EXPECT_THAT((*reader)->stats().skipped_by_reason,
              ElementsAre(Pair("field 'columns'", 1), Pair("field 'type'", 1)));
}

TEST(EventsFileReaderTest, ItemsFileNextToTheEvents) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("shop.csv", "user,item,type,ts\nu,i1,click,1700000000000\n");
  dir.WriteFile("shop.items.jsonl",
                "{\"id\":\"i1\",\"title\":\"Red shoe\",\"categories\":[\"shoes\",\"red\"],"
                "\"tags\":[\"sale\"],\"attributes\":{\"price\":12.5,\"brand\":\"acme\"},"
                "\"created\":\"2023-11-14T22:13:20Z\"}\n"
                "\n"
                "{\"id\":\"i2\",\"created\":1700000000001}\n");
  Result<std::unique_ptr<EventReader>> reader = Open(path);
  ASSERT_OK(reader);
  const std::vector<Item>& items = (*reader)->items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "i1");
  EXPECT_EQ(items[0].title, "Red shoe");
  EXPECT_THAT(items[0].categories, ElementsAre("shoes", "red"));
  EXPECT_THAT(items[0].tags, ElementsAre("sale"));
  EXPECT_THAT(items[0].attributes, ElementsAre(Pair("brand", "acme"), Pair("price", "12.5")));
  EXPECT_EQ(items[0].created_ms, 1700000000000);
  EXPECT_EQ(items[1].id, "i2");
  EXPECT_EQ(items[1].created_ms, 1700000000001);
}

TEST(EventsFileReaderTest, ItemsFileErrors) {
  struct Case {
    std::string line;
    std::string message;
  };
  const Case cases[] = {
      {"{\"id\":\"i1\",\"colour\":\"red\"}", "shop.items.jsonl:1: field 'colour': unknown field"},
      {"{\"id\":\"i1\",\"categories\":\"shoes\"}",
       "shop.items.jsonl:1: field 'categories': expected an array of strings"},
      {"{\"title\":\"x\"}", "shop.items.jsonl:1: field 'id': missing"},
      {"{\"id\":\"i1\",\"created\":\"soon\"}", "shop.items.jsonl:1: field 'created'"},
      {"{\"id\":", "shop.items.jsonl:1: field 'json': not a JSON object"},
      {"{\"id\":\"i1\",\"attributes\":{\"a\":[1]}}", "shop.items.jsonl:1: field 'attributes'"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    const std::string path = dir.WriteFile("shop.jsonl", "");
    dir.WriteFile("shop.items.jsonl", c.line + "\n");
    EXPECT_THAT(Open(path), StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message))) << c.line;
  }
}

}  // namespace
}  // namespace flywheel::data
