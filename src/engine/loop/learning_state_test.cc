// The impression learner and the reward ranker as members of LearnedState (doc/loop.md sections
// 5 and 6): they reach the state's models, users and catalogue, survive a snapshot (sections
// loop_learner, loop_reward), start over on Reset, and a forgotten user's rate is dropped.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/learn/learned_state.h"
#include "engine/store/snapshot_file.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

Event Click(const std::string& user, const std::string& item, TimestampMs ts) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = "click";
  e.ts_ms = ts;
  return e;
}

std::string Bytes(const LearnedState& state) {
  std::vector<SnapshotSection> sections;
  base::ReaderLock lock(&state.mu);
  EXPECT_OK(state.Save(7, &sections));
  return EncodeSnapshot(7, sections);
}

// u0..u5 click items i0..i19; then one closed list per user, explored, the first item clicked.
void Feed(LearnedState* state) {
  base::WriterLock lock(&state->mu);
  for (int n = 0; n < 120; ++n) {
    state->Apply(Click("u" + std::to_string(n % 6), "i" + std::to_string(n % 20), 1000 + n));
  }
  for (UserIdx u = 0; u < 6; ++u) {
    ClosedImpression closed;
    closed.user = u;
    closed.ts_ms = 5000;
    closed.model = "bpr";
    for (uint32_t p = 0; p < 4; ++p) {
      ClosedSlot slot;
      slot.item = (u + 5 * p) % 20;
      slot.position = p;
      slot.propensity = 0.05;
      slot.clicked = p == 0;
      slot.reward = p == 0 ? 1 : 0;
      slot.first_lag_ms = p == 0 ? 100 : -1;
      closed.slots.push_back(slot);
    }
    for (ImpressionListener* listener : state->learning_listeners()) {
      listener->OnClosed(closed);
    }
  }
}

TEST(LearningStateTest, ListenersLearnAndSurviveSnapshotsResetAndForget) {
  LoopOptions loop;
  loop.position_bias = "none";
  LearnedState state({ModelSpec{"bpr", {{"dim", "8"}}}}, EventTypeTable::Default(), 50, loop);
  {
    base::WriterLock lock(&state.mu);
    ASSERT_OK(state.Reset());
  }
  const std::string empty = Bytes(state);
  Feed(&state);
  {
    base::ReaderLock lock(&state.mu);
    EXPECT_EQ(state.impression_learner.counters().lists, 6u);
    EXPECT_EQ(state.impression_learner.counters().negatives, 18u);  // 3 ignored per list
    EXPECT_EQ(state.impression_learner.counters().explored_slots, 24u);
    EXPECT_EQ(state.reward_ranker.updates(), 24u);
  }
  const std::string bytes = Bytes(state);
  Result<SnapshotView> view = DecodeSnapshot(bytes, "test");
  ASSERT_OK(view);
  ASSERT_TRUE(view->Find("loop_learner"));
  ASSERT_TRUE(view->Find("loop_reward"));

  LearnedState loaded({ModelSpec{"bpr", {{"dim", "8"}}}}, EventTypeTable::Default(), 50, loop);
  {
    base::WriterLock lock(&loaded.mu);
    ASSERT_OK(loaded.Reset());
    ASSERT_OK(loaded.Load(*view, "test"));
  }
  EXPECT_EQ(Bytes(loaded), bytes);

  // A snapshot without the sections (older) loads with fresh listeners.
  SnapshotView old = *view;
  std::erase_if(old.sections, [](const auto& s) { return s.first.rfind("loop_", 0) == 0; });
  {
    base::WriterLock lock(&loaded.mu);
    ASSERT_OK(loaded.Reset());
    ASSERT_OK(loaded.Load(old, "old"));
    EXPECT_EQ(loaded.impression_learner.counters().lists, 0u);
    EXPECT_EQ(loaded.reward_ranker.updates(), 0u);
  }

  // Forgetting u3 drops its reward rate; Reset starts both over.
  {
    base::WriterLock lock(&state.mu);
    const UserIdx u3 = state.user_ids.Find("u3").value();
    EXPECT_NE(state.reward_ranker.UserRate(u3, 6000), state.reward_ranker.UserRate(999, 6000));
    state.Apply(UserDeleteRecord("u3"));
    EXPECT_EQ(state.reward_ranker.UserRate(u3, 6000), state.reward_ranker.UserRate(999, 6000));
    ASSERT_OK(state.Reset());
  }
  EXPECT_EQ(Bytes(state), empty);
}

TEST(LearningStateTest, LoopOptionsAreChecked) {
  LoopOptions loop;
  EXPECT_OK(ValidateLoopLearning(loop));
  loop.weight_cap = 0.5;
  EXPECT_FALSE(ValidateLoopLearning(loop).ok());
  loop.weight_cap = 20;
  loop.discount = 1.5;
  EXPECT_FALSE(ValidateLoopLearning(loop).ok());
  loop.discount = 0.9;
  loop.position_bias = "pbm ";
  EXPECT_FALSE(ValidateLoopLearning(loop).ok());
}

}  // namespace
}  // namespace flywheel::engine
