#include "engine/learn/learner.h"

#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;

Batch MakeBatch(uint64_t first_seq, int n) {
  Batch b;
  b.first_seq = first_seq;
  for (int i = 0; i < n; ++i) {
    Event e;
    e.user = "u" + std::to_string(i % 3);
    e.item = "i" + std::to_string(first_seq + i);
    e.type = "view";
    e.ts_ms = static_cast<TimestampMs>(1000 * (first_seq + i));
    b.events.push_back(e);
  }
  b.acked = std::chrono::steady_clock::now();
  return b;
}

class LearnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base::WriterLock lock(&state_.mu);
    ASSERT_OK(state_.Reset());
  }

  LearnedState state_{{ModelSpec{"pop", {}}}, EventTypeTable::Default(), 20};
  MessageLog messages_;
  const PipelineOptions options_{};
  Learner learner_{&state_, options_, &messages_};
};

TEST_F(LearnerTest, AppliesBatchesInOrderAndPublishesProgress) {
  std::mutex mu;
  std::vector<ItemIdx> changed;
  std::vector<uint64_t> applied;
  Learner::Hooks hooks;
  hooks.item_changed = [&](ItemIdx i) {
    std::lock_guard lock(mu);
    changed.push_back(i);
  };
  hooks.applied = [&](uint64_t seq) {
    std::lock_guard lock(mu);
    applied.push_back(seq);
  };
  learner_.Start(std::move(hooks));
  learner_.Enqueue(MakeBatch(1, 5));
  learner_.Enqueue(MakeBatch(6, 3));
  ASSERT_OK(learner_.WaitForApplied(8, 10'000));
  EXPECT_EQ(learner_.applied_seq(), 8u);
  EXPECT_EQ(learner_.freshness().count(), 8u);
  learner_.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(applied, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(changed, (std::vector<ItemIdx>{0, 1, 2, 3, 4, 5, 6, 7}));  // items in log order
  base::ReaderLock state_lock(&state_.mu);
  EXPECT_EQ(state_.item_ids.size(), 8u);
  EXPECT_EQ(state_.last_event_ms, 8000);
  EXPECT_FALSE(state_.trending.global.empty());  // control records and the schedule rebuild it
}

TEST_F(LearnerTest, WaitForAppliedTimesOut) {
  learner_.Start({});
  EXPECT_THAT(learner_.WaitForApplied(1, 20), StatusIs(StatusCode::kDeadlineExceeded));
}

TEST_F(LearnerTest, StopDrainsTheQueue) {
  learner_.Start({});
  for (uint64_t b = 0; b < 20; ++b) {
    learner_.Enqueue(MakeBatch(1 + b * 10, 10));
  }
  learner_.Stop();
  EXPECT_EQ(learner_.applied_seq(), 200u);
}

TEST_F(LearnerTest, RecoveryReplayThenFinish) {
  const Batch batch = MakeBatch(1, 4);
  for (size_t i = 0; i < batch.events.size(); ++i) {
    learner_.Replay(batch.events[i], 1 + i);
  }
  Event bad;
  bad.type = kItemPutType;  // a control record without a decodable item
  bad.item = "x";
  learner_.Replay(bad, 5);
  learner_.FinishRecovery(5);
  EXPECT_EQ(learner_.applied_seq(), 5u);
  EXPECT_OK(learner_.WaitForApplied(5, 0));
  ASSERT_EQ(messages_.All().size(), 1u);
  EXPECT_NE(messages_.All()[0].find("skipped a control record"), std::string::npos);
}

}  // namespace
}  // namespace flywheel::engine
