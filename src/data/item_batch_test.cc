#include "data/item_batch.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ItemBatchTest, CsvWithListsAttributesAndDates) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("items.csv",
                    "id,title,categories,tags,created,price,brand\r\n"
                    "tent,\"Tent, 2 person\", camping ; tents ,light,2026-09-01,249.00,Tide\r\n"
                    "\r\n"
                    "bag,Bag,,,1725148800000,,\r\n");
  Result<CatalogFile> file = ReadCatalogFile(path);
  ASSERT_OK(file.status());
  EXPECT_TRUE(file->errors.empty());
  ASSERT_EQ(file->items.size(), 2u);
  const Item& tent = file->items[0];
  EXPECT_EQ(tent.id, "tent");
  EXPECT_EQ(tent.title, "Tent, 2 person");
  EXPECT_THAT(tent.categories, ElementsAre("camping", "tents"));
  EXPECT_THAT(tent.tags, ElementsAre("light"));
  EXPECT_EQ(tent.attributes, (KeyValues{{"brand", "Tide"}, {"price", "249.00"}}));
  EXPECT_EQ(tent.created_ms, 1788220800000);
  const Item& bag = file->items[1];
  EXPECT_TRUE(bag.categories.empty());
  EXPECT_TRUE(bag.attributes.empty());  // empty cells set no attribute
  EXPECT_EQ(bag.created_ms, 1725148800000);
}

TEST(ItemBatchTest, CsvBadLinesNameFileLineAndField) {
  TempDir dir;
  const std::string path = dir.WriteFile("bad.csv",
                                         "id,title,categories\n"
                                         "a,A,x\n"
                                         "b,B,x;;y\n"
                                         "a,again,\n"
                                         "c,\"open\n"
                                         "d\n"
                                         ",no id,\n");
  Result<CatalogFile> file = ReadCatalogFile(path);
  ASSERT_OK(file.status());
  EXPECT_THAT(
      file->errors,
      ElementsAre(path + ":3:categories[1]: must not be empty",
                  path + ":4:id: duplicate id 'a' (first on line 2)", HasSubstr(path + ":5: "),
                  path + ":6: expected 3 fields, got 1", HasSubstr(path + ":7:id: ")));
}

TEST(ItemBatchTest, CsvHeaderErrors) {
  TempDir dir;
  EXPECT_THAT(ReadCatalogFile(dir.WriteFile("a.csv", "title,categories\nx,y\n")).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no 'id' column")));
  EXPECT_THAT(ReadCatalogFile(dir.WriteFile("b.csv", "id,price,price\n")).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'price' appears twice")));
  EXPECT_THAT(ReadCatalogFile(dir.WriteFile("c.csv", "")).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty file")));
  EXPECT_THAT(ReadCatalogFile(dir.WriteFile("d.txt", "id\n")).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown catalogue format")));
  EXPECT_THAT(ReadCatalogFile(dir.path() + "/missing.csv").status(),
              StatusIs(StatusCode::kNotFound));
}

// Found by fuzz/catalog_file (fuzz/corpus/catalog_file/crash-7cea6031...): a byte that is not
// UTF-8 in a header name or a cell made ItemFromJson's JSON dump throw, and import-items
// terminated. Now a header error, or a bad line naming the column.
TEST(ItemBatchTest, CsvBytesThatAreNotUtf8AreErrorsNotACrash) {
  TempDir dir;
  EXPECT_THAT(
      ReadCatalogFile(dir.WriteFile("h.csv",
                                    "id,title,categories,tags,cheated,ye\xa7r\n"
                                    "i0,Heat,crime|drcategories,tags,cheated,year\n"
                                    "i0,Heat,cri,2023-11-14,\n"))
          .status(),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("column 6: name is not valid UTF-8")));
  const std::string path =
      dir.WriteFile("c.csv", "id,title,brand\ni1,Caf\xe9,x\ni2,B,\xff\xfe\ni3,C\xc3\xa9,y\n");
  Result<CatalogFile> file = ReadCatalogFile(path);
  ASSERT_OK(file.status());
  EXPECT_THAT(file->errors,
              ElementsAre(path + ":2:title: not valid UTF-8", path + ":3:brand: not valid UTF-8"));
  ASSERT_EQ(file->items.size(), 1u);
  EXPECT_EQ(file->items[0].title, "C\xc3\xa9");
}

TEST(ItemBatchTest, JsonLines) {
  TempDir dir;
  const std::string path =
      dir.WriteFile("items.jsonl",
                    "{\"id\": \"a\", \"title\": \"A\", \"attributes\": {\"price\": 9.5}}\n"
                    "not json\n"
                    "{\"title\": \"no id\"}\n"
                    "{\"id\": \"b\", \"titel\": \"typo\"}\n"
                    "[1]\n");
  Result<CatalogFile> file = ReadCatalogFile(path);
  ASSERT_OK(file.status());
  ASSERT_EQ(file->items.size(), 1u);
  EXPECT_EQ(file->items[0].attributes, (KeyValues{{"price", "9.5"}}));
  EXPECT_THAT(file->errors, ElementsAre(path + ":2: not valid JSON", HasSubstr(path + ":3:id: "),
                                        HasSubstr(path + ":4:titel: item: unknown field 'titel'"),
                                        path + ":5: item: expected a JSON object"));
}

TEST(ItemBatchTest, ManyErrorsAreCapped) {
  TempDir dir;
  std::string text = "id,categories\n";
  for (int i = 0; i < 150; ++i) {
    text += "i" + std::to_string(i) + ",;\n";
  }
  Result<CatalogFile> file = ReadCatalogFile(dir.WriteFile("many.csv", text));
  ASSERT_OK(file.status());
  ASSERT_EQ(file->errors.size(), kMaxReportedErrors + 1);
  EXPECT_THAT(file->errors.back(), HasSubstr("50 more bad lines not shown"));
}

TEST(ItemBatchTest, BatchErrorsListInvalidAndRepeatedItems) {
  std::vector<Item> items(4);
  items[0].id = "a";
  items[1].id = "";
  items[2].id = "b";
  items[3].id = "a";
  const std::vector<ItemError> errors = ItemBatchErrors(items);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].index, 1u);
  EXPECT_EQ(errors[0].field, "id");
  EXPECT_EQ(errors[1].index, 3u);
  EXPECT_EQ(errors[1].field, "id");
  EXPECT_EQ(errors[1].message, "duplicate id 'a' (also items[0])");
  EXPECT_TRUE(ItemBatchErrors(std::span<const Item>(items).subspan(0, 1)).empty());
}

}  // namespace
}  // namespace flywheel::data
