#include "data/event_json.h"

#include <gtest/gtest.h>

#include "flywheel/event_types.h"

#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

class EventJsonTest : public ::testing::Test {
 protected:
  EventTypeTable types_ = EventTypeTable::Default();
};

TEST_F(EventJsonTest, ParsesFullEvent) {
  auto event = ParseEventJson(
      R"({"user": "u1", "item": "i9", "type": "click", "value": 2.5, "ts": 1700000000000,)"
      R"( "id": "e-1", "context": {"device": "ios", "hour": 13, "wifi": true}})",
      types_);
  ASSERT_OK(event);
  EXPECT_EQ(event->user, "u1");
  EXPECT_EQ(event->item, "i9");
  EXPECT_EQ(event->type, "click");
  EXPECT_DOUBLE_EQ(event->value, 2.5);
  EXPECT_EQ(event->ts_ms, 1700000000000);
  EXPECT_EQ(event->id, "e-1");
  ASSERT_EQ(event->context.size(), 3u);
  EXPECT_EQ(event->context[0], (std::pair<std::string, std::string>{"device", "ios"}));
  EXPECT_EQ(event->context[1].second, "13");
  EXPECT_EQ(event->context[2].second, "true");
}

TEST_F(EventJsonTest, OptionalFieldsAndIsoTime) {
  auto event = ParseEventJson(
      R"({"user": "u1", "item": "i9", "type": "buy", "ts": "2023-11-14T22:13:20Z"})", types_);
  ASSERT_OK(event);
  EXPECT_DOUBLE_EQ(event->value, 1.0);
  EXPECT_EQ(event->ts_ms, 1700000000000);
  EXPECT_TRUE(event->id.empty());
  EXPECT_TRUE(event->context.empty());
}

// Issue 17, item 10: a NUL (or any control character) inside an id was accepted.
TEST_F(EventJsonTest, ControlCharactersInIdsAreRefused) {
  for (const char* escape : {"\\u0000", "\\u001f", "\\n", "\\u007f"}) {
    for (const char* field : {"user", "item", "id"}) {
      std::string json = R"({"user": "u1", "item": "i9", "type": "click", "ts": 1700000000000,)"
                         R"( "id": "e-1"})";
      const std::string key = std::string("\"") + field + "\": \"";
      json.insert(json.find(key) + key.size() + 1, escape);
      auto event = ParseEventJson(json, types_);
      EXPECT_THAT(event.status(), StatusIs(StatusCode::kInvalidArgument,
                                           HasSubstr("field '" + std::string(field) +
                                                     "': contains a control character")))
          << json;
      EXPECT_EQ(event.status().field(), field);
    }
  }
  // Other characters outside ASCII stay allowed.
  ASSERT_OK(ParseEventJson(
      R"({"user": "\u00e9t\u00e9", "item": "i 9", "type": "click", "ts": 1700000000000})", types_));
}

TEST_F(EventJsonTest, RejectsBadInputWithClearMessages) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {R"({"usr": "u1", "item": "i", "type": "click", "ts": 1700000000000})",
       "unknown field 'usr'"},
      {R"({"item": "i", "type": "click", "ts": 1700000000000})", "field 'user': missing"},
      {R"({"user": "u", "item": "i", "type": "click"})", "field 'ts': missing"},
      {R"({"user": "", "item": "i", "type": "click", "ts": 1700000000000})",
       "field 'user': must not be empty"},
      {R"({"user": 5, "item": "i", "type": "click", "ts": 1700000000000})",
       "field 'user': expected a string"},
      {R"({"user": "u", "item": "i", "type": "teleport", "ts": 1700000000000})",
       "unknown event type"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": "soon"})", "field 'ts'"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": -5})", "field 'ts': out of range"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1.5})", "integer milliseconds"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "value": "x"})",
       "field 'value': expected a number"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "context": [1]})",
       "field 'context'"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "context": {"a": {}}})",
       "field 'context.a'"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1)", "not valid JSON"},
      {R"([1, 2])", "expected a JSON object"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "id": ""})",
       "field 'id'"},
      {"{\"user\": \"\xff\", \"item\": \"i\", \"type\": \"click\", \"ts\": 1700000000000}", "JSON"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseEventJson(c.json, types_),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.json;
  }
  const std::string long_id(300, 'a');
  EXPECT_THAT(ParseEventJson(R"({"user": ")" + long_id +
                                 R"(", "item": "i", "type": "click", "ts": 1700000000000})",
                             types_),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("longer than 256")));
}

// Issue 18: a `ts` in seconds was taken as milliseconds (1970) without a word.
TEST_F(EventJsonTest, TimestampInSecondsIsRejectedUnlessTheUnitSaysSo) {
  const auto seconds =
      ParseEventJson(R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000})", types_);
  EXPECT_THAT(seconds,
              StatusIs(StatusCode::kInvalidArgument,
                       HasSubstr("1970-01-20T16:13:20.000Z in milliseconds, before 1990")));
  EXPECT_EQ(seconds.status().field(), "ts");
  EXPECT_THAT(seconds.status().message(), HasSubstr("\"ts_unit\": \"s\""));

  auto event = ParseEventJson(
      R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000, "ts_unit": "s"})", types_);
  ASSERT_OK(event);
  EXPECT_EQ(event->ts_ms, 1700000000000);
  event = ParseEventJson(
      R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000.25, "ts_unit": "s"})",
      types_);
  ASSERT_OK(event);
  EXPECT_EQ(event->ts_ms, 1700000000250);
  event = ParseEventJson(
      R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000123, "ts_unit": "ms"})",
      types_);
  ASSERT_OK(event);
  EXPECT_EQ(event->ts_ms, 1700000000123);
  // MovieLens 100K's first event (1997) in milliseconds is plausible.
  event =
      ParseEventJson(R"({"user": "u", "item": "i", "type": "click", "ts": 874724710000})", types_);
  ASSERT_OK(event);
  // Milliseconds declared as seconds land past 2200.
  EXPECT_THAT(
      ParseEventJson(
          R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "ts_unit": "s"})",
          types_),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'ts'")));
}

TEST_F(EventJsonTest, BadTimestampUnitsNameTheField) {
  const char* cases[] = {
      R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000, "ts_unit": "sec"})",
      R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000, "ts_unit": 1})",
      R"({"user": "u", "item": "i", "type": "click", "ts": "2023-11-14", "ts_unit": "s"})",
  };
  for (const char* json : cases) {
    const Result<Event> event = ParseEventJson(json, types_);
    EXPECT_THAT(event, StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'ts_unit'")))
        << json;
    EXPECT_EQ(event.status().field(), "ts_unit") << json;
  }
}

TEST_F(EventJsonTest, ErrorsCarryTheFieldAsData) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"item": "i", "type": "click", "ts": 1700000000000})", "user"},
      {R"({"user": 5, "item": "i", "type": "click", "ts": 1700000000000})", "user"},
      {R"({"user": "u", "item": "i", "type": "teleport", "ts": 1700000000000})", "type"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": -5})", "ts"},
      {R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, "context": {"a": {}}})",
       "context.a"},
      {R"({"usr": "u1", "item": "i", "type": "click", "ts": 1700000000000})", "usr"},
      {R"([1, 2])", ""},
  };
  for (const auto& [json, field] : cases) {
    EXPECT_EQ(ParseEventJson(json, types_).status().field(), field) << json;
  }
  Event event{"u", "", "click", 1.0, 1, "", {}};
  EXPECT_EQ(ValidateEvent(event, types_).field(), "item");
}

TEST_F(EventJsonTest, FieldsOnlyParseLeavesValuesToValidateEvent) {
  const auto doc = nlohmann::json::parse(R"({"user": "u", "item": "i", "type": "teleport",
                                             "ts": -5})");
  Result<Event> event = EventFieldsFromJson(doc);
  ASSERT_OK(event.status());
  EXPECT_EQ(event->type, "teleport");
  EXPECT_EQ(ValidateEvent(*event, types_).field(), "type");
  EXPECT_EQ(EventFromJson(doc, types_).status(), ValidateEvent(*event, types_));
  EXPECT_EQ(EventFieldsFromJson(nlohmann::json::parse(R"({"user": "u"})")).status().field(),
            "item");
}

TEST_F(EventJsonTest, RoundTrip) {
  Event event;
  event.user = "u\"1";
  event.item = "i9";
  event.type = "purchase";
  event.value = 12.5;
  event.ts_ms = 1700000000000;
  event.id = "e-7";
  event.context = {{"device", "ios"}};
  auto parsed = ParseEventJson(EventToJson(event), types_);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->user, event.user);
  EXPECT_EQ(parsed->type, "purchase");
  EXPECT_DOUBLE_EQ(parsed->value, 12.5);
  EXPECT_EQ(parsed->ts_ms, event.ts_ms);
  EXPECT_EQ(parsed->id, "e-7");
  EXPECT_EQ(parsed->context, event.context);
}

TEST_F(EventJsonTest, RecommendationIdAndImpressionsParseValidateAndRoundTrip) {
  auto event =
      ParseEventJson(R"({"user": "u", "item": "b", "type": "click", "ts": 1700000000000,)"
                     R"( "recommendation_id": "0123456789abcdef", "impressions": ["a", "b", "c"]})",
                     types_);
  ASSERT_OK(event);
  EXPECT_EQ(event->recommendation_id, "0123456789abcdef");
  EXPECT_EQ(event->impressions, (std::vector<std::string>{"a", "b", "c"}));
  auto parsed = ParseEventJson(EventToJson(*event), types_);
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->recommendation_id, event->recommendation_id);
  EXPECT_EQ(parsed->impressions, event->impressions);
  // Absent fields stay absent in the canonical form.
  Event plain{"u", "i", "click", 1.0, 1700000000000, "", {}};
  EXPECT_EQ(EventToJson(plain).find("impressions"), std::string::npos);
  EXPECT_EQ(EventToJson(plain).find("recommendation_id"), std::string::npos);
}

TEST_F(EventJsonTest, BadRecommendationIdsAndImpressionsNameTheField) {
  const std::string head = R"({"user": "u", "item": "i", "type": "click", "ts": 1700000000000, )";
  const std::pair<std::string, const char*> cases[] = {
      {R"("recommendation_id": "")", "recommendation_id"},
      {R"("recommendation_id": 5)", "recommendation_id"},
      {R"("recommendation_id": ")" + std::string(257, 'x') + R"(")", "recommendation_id"},
      {R"("recommendation_id": "a\u0001")", "recommendation_id"},
      {R"("impressions": [])", "impressions"},
      {R"("impressions": "a")", "impressions"},
      {R"("impressions": ["a", 3])", "impressions[1]"},
      {R"("impressions": ["a", ""])", "impressions[1]"},
      {R"("impressions": ["a", "b", "a"])", "impressions[2]"},
  };
  for (const auto& [tail, field] : cases) {
    const std::string json = head + tail + "}";
    EXPECT_THAT(ParseEventJson(json, types_), StatusIs(StatusCode::kInvalidArgument)) << json;
    EXPECT_EQ(ParseEventJson(json, types_).status().field(), field) << json;
  }
  std::string many = head + R"("impressions": [)";
  for (int i = 0; i < 1001; ++i) {
    many += (i > 0 ? ",\"" : "\"") + std::to_string(i) + "\"";
  }
  EXPECT_EQ(ParseEventJson(many + "]}", types_).status().field(), "impressions");
  // The checks hold for events built in code too (Engine::Ingest validates with them).
  Event event{"u", "i", "click", 1.0, 1700000000000, "", {}};
  event.impressions = {"a", "a"};
  EXPECT_EQ(ValidateEvent(event, types_).field(), "impressions[1]");
}

// Found by fuzz/event_json_fuzzer: an ISO time before 1990 was accepted, but its canonical
// form wrote it as bare milliseconds, which the pre-1990 check refuses as probable seconds.
TEST_F(EventJsonTest, RoundTripBefore1990KeepsTheTime) {
  for (const char* ts : {"\"1973-03-03T09:46:41Z\"", "100000001", "0"}) {
    const bool seconds = ts[0] != '"';
    const std::string line = std::string(R"({"user":"u3","item":"i2","type":"purchase","ts":)") +
                             ts + (seconds ? R"(,"ts_unit":"s"})" : "}");
    auto event = ParseEventJson(line, types_);
    ASSERT_OK(event) << line;
    const std::string canonical = EventToJson(*event);
    auto again = ParseEventJson(canonical, types_);
    ASSERT_OK(again) << canonical;
    EXPECT_EQ(again->ts_ms, event->ts_ms) << canonical;
  }
}

// Found by fuzz/event_json_fuzzer: a float beyond int64's range was cast (UBSan).
TEST_F(EventJsonTest, HugeFloatTimestampIsRefused) {
  for (const char* ts : {"170000055555555000001", "-1e300", "1e19"}) {
    const std::string line =
        std::string(R"({"user":"u","item":"i","type":"click","ts":)") + ts + "}";
    auto event = ParseEventJson(line, types_);
    ASSERT_FALSE(event.ok()) << line;
    EXPECT_NE(event.status().message().find("field 'ts'"), std::string::npos)
        << event.status().message();
  }
}

TEST(EventTypeTableTest, DefaultsAliasesAndOverrides) {
  EventTypeTable table = EventTypeTable::Default();
  auto buy = table.Find("buy");
  ASSERT_OK(buy);
  EXPECT_EQ(table.type(*buy).name, "purchase");
  EXPECT_FLOAT_EQ(table.type(*buy).weight, 5.0f);
  EXPECT_FALSE(table.type(*table.Find("skip")).positive);
  EXPECT_LT(table.type(*table.Find("dislike")).weight, 0.0f);
  EXPECT_THAT(table.Find("nope"), StatusIs(StatusCode::kInvalidArgument, HasSubstr("known: view")));

  auto custom = EventTypeTable::Parse("purchase=8, wishlist=1.5, skip=-1");
  ASSERT_OK(custom);
  EXPECT_FLOAT_EQ(custom->type(*custom->Find("buy")).weight, 8.0f);
  EXPECT_TRUE(custom->type(*custom->Find("wishlist")).positive);
  EXPECT_FALSE(custom->type(*custom->Find("skip")).positive);
  EXPECT_THAT(EventTypeTable::Parse("purchase"), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(EventTypeTable::Parse("purchase=lots"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("purchase")));
}

}  // namespace
}  // namespace flywheel::data
