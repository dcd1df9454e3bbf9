// EngineOptions::event_types: a shop's own types are accepted, stored in engine.json, used by
// later opens, and a spec that would move a stored type is refused. A failed first open leaves
// nothing behind.
#include <filesystem>
#include <memory>
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

EngineOptions Options(const std::string& dir, const std::string& types) {
  EngineOptions o;
  o.data_dir = dir;
  o.event_types = types;
  o.snapshot_on_close = false;
  return o;
}

Event Wish(const std::string& user, const std::string& item, TimestampMs ts) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = "wishlist";
  e.ts_ms = ts;
  return e;
}

TEST(EngineEventTypesTest, OwnTypesAreAcceptedStoredAndReplayed) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    auto engine = Engine::Open(Options(data, ""));
    ASSERT_OK(engine);
    const std::vector<Event> events = {Wish("u1", "i1", 1'700'000'000'000)};
    EXPECT_THAT((*engine)->Ingest(events).status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown event type")));
  }
  {
    auto engine = Engine::Open(Options(data, "wishlist=2"));
    ASSERT_OK(engine);
    EXPECT_TRUE((*engine)->event_types().Find("wishlist").ok());
    const std::vector<Event> events = {Wish("u1", "i1", 1'700'000'000'000),
                                       Wish("u2", "i1", 1'700'000'001'000)};
    ASSERT_OK((*engine)->Ingest(events).status());
    ASSERT_OK((*engine)->Close());
  }
  // Reopened without a spec: the stored one, and the log (with wishlist events) replays.
  auto engine = Engine::Open(Options(data, ""));
  ASSERT_OK(engine);
  const EventTypeTable& types = (*engine)->event_types();
  ASSERT_OK(types.Find("wishlist"));
  EXPECT_FLOAT_EQ(types.type(*types.Find("wishlist")).weight, 2.0f);
  EXPECT_EQ((*engine)->stats().applied_seq, 2u);
  EXPECT_EQ((*engine)->stats().users, 2u);
}

TEST(EngineEventTypesTest, ASpecMustKeepTheStoredTypesInPlace) {
  TempDir dir;
  { ASSERT_OK(Engine::Open(Options(dir.path(), "wishlist=2")).status()); }
  // A new weight and an appended type are fine (and stored).
  {
    auto engine = Engine::Open(Options(dir.path(), "wishlist=1,save=0.5,view=0.1"));
    ASSERT_OK(engine);
    EXPECT_TRUE((*engine)->event_types().Find("save").ok());
  }
  EXPECT_THAT(
      Engine::Open(Options(dir.path(), "save=1,wishlist=2")).status(),
      StatusIs(StatusCode::kFailedPrecondition, HasSubstr("type 'wishlist' must keep its place")));
  EXPECT_THAT(Engine::Open(Options(dir.path(), "view=1")).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("type 'wishlist'")));
  auto stored = Engine::Open(Options(dir.path(), ""));
  ASSERT_OK(stored);
  EXPECT_TRUE((*stored)->event_types().Find("save").ok());
}

TEST(EngineEventTypesTest, BadSpecIsRejectedBeforeAnythingIsCreated) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  EXPECT_THAT(Engine::Open(Options(data, "wishlist")).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("expected name=weight")));
  EXPECT_FALSE(std::filesystem::exists(data));
}

// A failed first open removes what it created (and only that).
TEST(EngineEventTypesTest, FailedFirstOpenLeavesNothingBehind) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  EngineOptions o = Options(data, "");
  o.models = {ModelSpec{"nosuch", {}}};
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_FALSE(std::filesystem::exists(data));
  // A directory that existed stays, with what it held.
  std::filesystem::create_directory(data);
  dir.WriteFile("data/mine.txt", "x");
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kInvalidArgument));
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(data)) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"mine.txt"});
  // An existing data directory is never touched by a failed open.
  o.models = {ModelSpec{"pop", {}}};
  { ASSERT_OK(Engine::Open(o).status()); }
  o.models = {ModelSpec{"itemknn", {}}};
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_TRUE(std::filesystem::exists(data + "/engine.json"));
  EXPECT_TRUE(std::filesystem::exists(data + "/wal"));
}

}  // namespace
}  // namespace flywheel
