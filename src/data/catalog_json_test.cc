#include "data/catalog_json.h"

#include <string>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

TEST(CatalogJsonTest, ParsesAFullItem) {
  Result<Item> item = ParseItemJson(
      "i9", R"({"title": "Heat", "categories": ["crime", "drama", "crime"], "tags": ["1990s"],
               "attributes": {"year": 1995, "price": 12.5, "new": true, "studio": "WB"},
               "created": "2023-11-14T22:13:20Z"})");
  ASSERT_OK(item.status());
  EXPECT_EQ(item->id, "i9");
  EXPECT_EQ(item->title, "Heat");
  EXPECT_EQ(item->categories, (std::vector<std::string>{"crime", "drama"}));
  EXPECT_EQ(item->tags, (std::vector<std::string>{"1990s"}));
  EXPECT_EQ(item->attributes,
            (KeyValues{{"new", "true"}, {"price", "12.5"}, {"studio", "WB"}, {"year", "1995"}}));
  EXPECT_EQ(item->created_ms, 1700000000000);
  ASSERT_OK(ParseItemJson("i1", "{}").status());
}

// Issue 17, item 10: control characters inside item and user ids are refused.
TEST(CatalogJsonTest, ControlCharactersInIdsAreRefused) {
  for (const std::string& id : {std::string("a\0b", 3), std::string("a\nb"), std::string("\x7f")}) {
    EXPECT_THAT(ParseItemJson(id, "{}").status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("contains a control character")));
    EXPECT_THAT(ParseUserJson(id, "{}").status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("contains a control character")));
  }
  ASSERT_OK(ParseItemJson("a b", "{}").status());
}

TEST(CatalogJsonTest, ErrorsNameTheField) {
  struct Case {
    std::string body;
    std::string field;
  };
  const std::string big(2000, 'x');
  const Case cases[] = {
      {R"({"title": 3})", "title"},
      {R"({"categories": "drama"})", "categories"},
      {R"({"categories": ["a", 7]})", "categories[1]"},
      {R"({"categories": ["a", ""]})", "categories[1]"},
      {R"({"tags": [")" + big + R"("]})", "tags[0]"},
      {R"({"attributes": {"k": [1]}})", "attributes.k"},
      {R"({"created": -5})", "created"},
      {R"({"created": "yesterday"})", "created"},
      {R"({"title": ")" + big + R"("})", "title"},
  };
  for (const Case& c : cases) {
    Result<Item> item = ParseItemJson("i1", c.body);
    ASSERT_FALSE(item.ok()) << c.body;
    EXPECT_THAT(item.status(), StatusIs(StatusCode::kInvalidArgument));
    EXPECT_THAT(item.status().message(), HasSubstr("field '" + c.field + "'")) << c.body;
  }
  EXPECT_THAT(ParseItemJson("i1", R"({"titel": "x"})").status().message(),
              HasSubstr("unknown field 'titel'"));
  // nlohmann's parser refuses numbers that overflow a double: the whole body is rejected.
  EXPECT_THAT(ParseItemJson("i1", R"({"attributes": {"k": 1e999}})").status().message(),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseItemJson("i1", R"({"attributes": {"k": NaN}})").status().message(),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseItemJson("i1", "[1]").status().message(), HasSubstr("expected a JSON object"));
  EXPECT_THAT(ParseItemJson("i1", "{").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseItemJson("", "{}").status().message(), HasSubstr("field 'id'"));
  EXPECT_THAT(ParseItemJson(std::string(300, 'a'), "{}").status().message(),
              HasSubstr("field 'id'"));
  EXPECT_THAT(ParseItemJson("\xff", "{}").status().message(), HasSubstr("UTF-8"));
  std::string many = R"({"categories": [)";
  for (int i = 0; i < 65; ++i) {
    many += (i > 0 ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  }
  EXPECT_THAT(ParseItemJson("i1", many + "]}").status().message(),
              HasSubstr("more than 64 entries"));
}

TEST(CatalogJsonTest, Users) {
  Result<User> user = ParseUserJson("u1", R"({"attributes": {"age": 25, "country": "FR"}})");
  ASSERT_OK(user.status());
  EXPECT_EQ(user->attributes, (KeyValues{{"age", "25"}, {"country", "FR"}}));
  EXPECT_THAT(ParseUserJson("u1", R"({"name": "x"})").status().message(),
              HasSubstr("unknown field 'name'"));
  EXPECT_THAT(ParseUserJson("u1", R"({"attributes": []})").status().message(),
              HasSubstr("field 'attributes'"));
  User dup{"u1", {{"a", "1"}, {"a", "2"}}};
  EXPECT_THAT(ValidateUser(dup).message(), HasSubstr("repeated key"));
  EXPECT_EQ(ValidateUser(dup).field(), "attributes.a");
}

TEST(CatalogJsonTest, ErrorsCarryTheFieldAsData) {
  EXPECT_EQ(ParseItemJson("i1", R"({"categories": ["a", ""]})").status().field(), "categories[1]");
  EXPECT_EQ(ParseItemJson("i1", R"({"title": 5})").status().field(), "title");
  EXPECT_EQ(ParseItemJson("i1", R"({"nope": 5})").status().field(), "nope");
  EXPECT_EQ(ParseItemJson("i1", "[").status().field(), "");
  EXPECT_EQ(ParseUserJson("u1", R"({"attributes": []})").status().field(), "attributes");
  EXPECT_EQ(ValidateItem(Item{"", {}, {}, {}, {}, 0}).field(), "id");
}

}  // namespace
}  // namespace flywheel::data
