// Engine::PutItems: a group of items validated whole, logged with one append, recovered.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}};
  o.snapshot_on_close = false;
  return o;
}

std::vector<Item> Items(int n) {
  std::vector<Item> items;
  for (int i = 0; i < n; ++i) {
    items.push_back(Item{"i" + std::to_string(i), "Item " + std::to_string(i), {"c"}, {}, {}, 0});
  }
  return items;
}

TEST(PutItemsTest, LogsConsecutiveRecordsAndRecovers) {
  TempDir dir;
  {
    auto engine = Engine::Open(Options(dir.path()));
    ASSERT_OK(engine.status());
    auto first = (*engine)->PutItems(Items(5));
    ASSERT_OK(first.status());
    EXPECT_EQ(*first, 1u);
    EXPECT_EQ((*engine)->stats().last_seq, 5u);
    ASSERT_OK((*engine)->WaitForApplied(5, 10000));
    EXPECT_EQ((*engine)->stats().items, 5u);
    ASSERT_OK((*engine)->Close());
  }
  auto engine = Engine::Open(Options(dir.path()));  // replayed from the log
  ASSERT_OK(engine.status());
  ASSERT_OK((*engine)->WaitForApplied(5, 10000));
  EXPECT_EQ((*engine)->stats().items, 5u);
}

TEST(PutItemsTest, OneBadItemLogsNothing) {
  TempDir dir;
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  std::vector<Item> items = Items(4);
  items[2].categories = {""};
  Status bad = (*engine)->PutItems(items).status();
  EXPECT_THAT(bad, StatusIs(StatusCode::kInvalidArgument, HasSubstr("item 2: ")));
  EXPECT_EQ(bad.field(), "items[2].categories[0]");
  items = Items(3);
  items[2].id = "i0";
  bad = (*engine)->PutItems(items).status();
  EXPECT_EQ(bad.field(), "items[2].id");
  EXPECT_THAT(bad.message(), HasSubstr("duplicate id 'i0' (also items[0])"));
  EXPECT_THAT((*engine)->PutItems({}).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ((*engine)->stats().last_seq, 0u);
}

}  // namespace
}  // namespace flywheel
