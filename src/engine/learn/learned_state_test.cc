#include "engine/learn/learned_state.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/learn/catalog.h"
#include "engine/store/snapshot_file.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;

Event View(const std::string& user, const std::string& item, TimestampMs ts) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = "view";
  e.ts_ms = ts;
  return e;
}

std::vector<ModelSpec> Specs() {
  return {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
}

// Fills `state` with a few users, items, a catalogue record and a forgotten user.
void Learn(LearnedState* state) {
  base::WriterLock lock(&state->mu);
  for (int i = 0; i < 40; ++i) {
    state->Apply(View("u" + std::to_string(i % 7), "i" + std::to_string(i % 11), 1000 + i));
  }
  Item item;
  item.id = "i3";
  item.title = "Heat";
  item.categories = {"drama"};
  const LearnedState::Applied put = state->Apply(ItemPutRecord(item));
  EXPECT_EQ(put.item, state->item_ids.Find("i3").value());
  state->Apply(UserDeleteRecord("u2"));
}

void ResetOk(LearnedState* state) {
  base::WriterLock lock(&state->mu);
  ASSERT_OK(state->Reset());
}

std::string Bytes(const LearnedState& state, uint64_t seq) {
  std::vector<SnapshotSection> sections;
  base::ReaderLock lock(&state.mu);
  EXPECT_OK(state.Save(seq, &sections));
  return EncodeSnapshot(seq, sections);
}

TEST(LearnedStateTest, ApplyLearnsAndResetForgetsEverything) {
  LearnedState state(Specs(), EventTypeTable::Default(), 50);
  ResetOk(&state);
  const std::string empty = Bytes(state, 0);
  Learn(&state);
  state.RebuildTrending(PipelineOptions{});
  {
    base::ReaderLock lock(&state.mu);
    EXPECT_EQ(state.user_ids.size(), 7u);
    EXPECT_EQ(state.item_ids.size(), 11u);
    EXPECT_EQ(state.forgotten_users, 1u);
    EXPECT_EQ(state.forgets_applied, 1u);
    EXPECT_EQ(state.last_event_ms, 1039);
    EXPECT_FALSE(state.trending.global.empty());
    // The item record was applied to the catalogue (its title names it in reasons).
    EXPECT_EQ(state.catalog.item(state.item_ids.Find("i3").value())->title, "Heat");
  }

  ResetOk(&state);
  {
    base::ReaderLock lock(&state.mu);
    EXPECT_EQ(state.user_ids.size(), 0u);
    EXPECT_EQ(state.item_ids.size(), 0u);
    EXPECT_EQ(state.forgotten_users, 0u);
    EXPECT_EQ(state.forgets_applied, 0u);
    EXPECT_EQ(state.last_event_ms, 0);  // Recover used to miss this one
    EXPECT_TRUE(state.trending.global.empty());
    EXPECT_EQ(state.catalog.num_items(), 0u);
  }
  EXPECT_EQ(Bytes(state, 0), empty);  // models included
}

TEST(LearnedStateTest, SaveThenLoadGivesTheSameBytes) {
  LearnedState a(Specs(), EventTypeTable::Default(), 50);
  ResetOk(&a);
  Learn(&a);
  const std::string saved = Bytes(a, 42);
  Result<SnapshotView> view = DecodeSnapshot(saved, "test");
  ASSERT_OK(view.status());

  LearnedState b(Specs(), EventTypeTable::Default(), 50);
  {
    base::WriterLock lock_b(&b.mu);
    ASSERT_OK(b.Reset());
    ASSERT_OK(b.Load(*view, "test"));
    base::ReaderLock lock_a(&a.mu);
    EXPECT_EQ(b.last_event_ms, a.last_event_ms);
    EXPECT_EQ(b.forgotten_users, 1u);
  }
  EXPECT_EQ(Bytes(b, 42), saved);
}

// Snapshots written before the sections user_values and catalog_extra existed still load:
// values unknown (NaN), no tags or attributes, interaction counts 0.
TEST(LearnedStateTest, LoadsSnapshotsWithoutTheLaterSections) {
  LearnedState a(Specs(), EventTypeTable::Default(), 50);
  ResetOk(&a);
  Learn(&a);
  {
    base::WriterLock lock(&a.mu);
    Item item;
    item.id = "i4";
    item.tags = {"heist"};
    item.attributes = {{"year", "1995"}};
    a.Apply(ItemPutRecord(item));
  }
  std::vector<SnapshotSection> sections;
  {
    base::ReaderLock lock(&a.mu);
    ASSERT_OK(a.Save(7, &sections));
  }
  std::vector<SnapshotSection> old;
  for (SnapshotSection& s : sections) {
    if (s.name != "user_values" && s.name != "catalog_extra") {
      old.push_back(std::move(s));
    }
  }
  ASSERT_EQ(old.size() + 2, sections.size());
  const std::string bytes = EncodeSnapshot(7, old);
  Result<SnapshotView> view = DecodeSnapshot(bytes, "old");
  ASSERT_OK(view.status());
  LearnedState b(Specs(), EventTypeTable::Default(), 50);
  base::WriterLock lock_b(&b.mu);
  ASSERT_OK(b.Reset());
  ASSERT_OK(b.Load(*view, "old"));
  const ItemIdx i4 = b.item_ids.Find("i4").value();
  EXPECT_TRUE(b.catalog.item(i4)->tags.empty());
  EXPECT_EQ(b.catalog.item(i4)->events, 0u);
  const model::UserState& u0 = b.users.Find(b.user_ids.Find("u0").value());
  ASSERT_FALSE(u0.recent().empty());
  EXPECT_TRUE(std::isnan(u0.recent().back().value));
  // With the sections: values, tags, attributes and counts come back.
  const std::string full = Bytes(a, 7);
  Result<SnapshotView> full_view = DecodeSnapshot(full, "new");
  ASSERT_OK(full_view.status());
  ASSERT_OK(b.Reset());
  ASSERT_OK(b.Load(*full_view, "new"));
  EXPECT_EQ(b.catalog.item(i4)->tags, std::vector<std::string>{"heist"});
  EXPECT_EQ(b.catalog.item(i4)->attributes, (KeyValues{{"year", "1995"}}));
  EXPECT_EQ(b.catalog.item(b.item_ids.Find("i0").value())->events, 4u);  // i0: events 0, 11, 22, 33
  EXPECT_EQ(b.users.Find(b.user_ids.Find("u0").value()).recent().back().value, 1.0f);
}

TEST(LearnedStateTest, LoadRefusesASnapshotOfOtherModels) {
  LearnedState a(Specs(), EventTypeTable::Default(), 50);
  ResetOk(&a);
  Learn(&a);
  const std::string saved = Bytes(a, 1);
  Result<SnapshotView> view = DecodeSnapshot(saved, "test");
  ASSERT_OK(view.status());
  LearnedState other({ModelSpec{"pop", {}}}, EventTypeTable::Default(), 50);
  base::WriterLock lock(&other.mu);
  ASSERT_OK(other.Reset());
  EXPECT_THAT(other.Load(*view, "test"), StatusIs(StatusCode::kFailedPrecondition));
}

TEST(LearnedStateTest, ModelIndexByName) {
  LearnedState state(Specs(), EventTypeTable::Default(), 50);
  EXPECT_EQ(state.ModelIndex("").value(), 0u);
  EXPECT_EQ(state.ModelIndex("itemknn").value(), 1u);
  EXPECT_THAT(state.ModelIndex("bpr").status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(state.ModelIndex("bpr").status().field(), "model");
}

}  // namespace
}  // namespace flywheel::engine
