#include "engine/loop/impression_learner.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;

// A model that records the negatives it is given (the learner's only call into models).
class RecordingModel final : public model::Recommender {
 public:
  struct Call {
    UserIdx user;
    std::vector<ItemIdx> items;
    std::vector<float> weights;
    TimestampMs now;
    size_t history;
  };
  std::string name() const override { return "recording"; }
  KeyValues params() const override { return {}; }
  void Observe(const data::Interaction& /*event*/, const model::UserState& /*user*/) override {}
  void ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                        std::span<const float> weights, TimestampMs now_ms,
                        const model::UserState& state) override {
    calls.push_back({user,
                     {items.begin(), items.end()},
                     {weights.begin(), weights.end()},
                     now_ms,
                     state.recent().size()});
  }
  void Recommend(const model::RecommendRequest& /*request*/,
                 std::vector<model::ScoredItem>* out) const override {
    out->clear();
  }
  size_t num_items() const override { return 0; }
  std::vector<Call> calls;
};

ClosedSlot Slot(ItemIdx item, uint32_t position, bool clicked, double propensity = 1.0) {
  ClosedSlot s;
  s.item = item;
  s.position = position;
  s.propensity = propensity;
  s.clicked = clicked;
  s.reward = clicked ? 1.0 : 0.0;
  s.first_lag_ms = clicked ? 1000 : -1;
  return s;
}

ClosedImpression List(UserIdx user, std::vector<ClosedSlot> slots, TimestampMs ts = 5000) {
  ClosedImpression c;
  c.user = user;
  c.ts_ms = ts;
  c.recommendation_id = "00000000000000aa";
  c.slots = std::move(slots);
  return c;
}

TEST(ImpressionLearnerTest, PbmEstimatesConvergeToTheTrueExamination) {
  const std::vector<double> theta = {1.0, 0.75, 0.55, 0.4, 0.3, 0.22, 0.16, 0.12, 0.09, 0.07};
  ImpressionLearner learner;
  base::Rng rng(3);
  for (int n = 0; n < 60000; ++n) {
    std::vector<ClosedSlot> slots;
    for (uint32_t p = 0; p < theta.size(); ++p) {
      // Half the slots explored (a random pool item: relevance independent of the slot); the
      // greedy ones are more relevant near the top (which must not bias the estimate).
      const bool explored = rng.UniformDouble() < 0.5;
      const double relevance = explored ? rng.UniformDouble() * 0.6 : 0.9 - 0.08 * p;
      const bool click = rng.UniformDouble() < theta[p] * relevance;
      slots.push_back(Slot(p + 1, p, click, explored ? 0.005 : 0.9));
    }
    learner.OnClosed(List(1, std::move(slots)));
  }
  EXPECT_EQ(learner.Examination(0), 1.0);
  for (uint32_t p = 1; p < theta.size(); ++p) {
    EXPECT_NEAR(learner.Examination(p), theta[p], std::max(0.025, 0.15 * theta[p])) << "p=" << p;
  }
  EXPECT_EQ(learner.counters().lists, 60000u);
}

TEST(ImpressionLearnerTest, WithoutExplorationTheEstimateIsThePrior) {
  ImpressionLearner learner;
  for (int n = 0; n < 100; ++n) {  // greedy (1) and epsilon-greedy's greedy items (1 - E)
    learner.OnClosed(List(1, {Slot(1, 0, true), Slot(2, 1, false, 0.9), Slot(3, 2, false)}));
  }
  EXPECT_EQ(learner.counters().explored_slots, 0u);
  EXPECT_DOUBLE_EQ(learner.Examination(1), 1.0 / std::log2(3.0));
  EXPECT_DOUBLE_EQ(learner.Examination(6), 1.0 / std::log2(8.0));
  // Deep positions share the last estimate and stay above the floor.
  EXPECT_EQ(learner.Examination(500), learner.Examination(ImpressionLearner::kMaxPositions - 1));
  EXPECT_GE(learner.Examination(500), learner.options().min_examination);
}

TEST(ImpressionLearnerTest, CascadeIgnoresItemsBelowTheLastClick) {
  ImpressionLearnerOptions options;
  options.position_bias = PositionBias::kCascade;
  options.negative_weight = 0.4;
  ImpressionLearner learner(options);
  std::vector<ItemIdx> items;
  std::vector<float> weights;
  ClosedSlot skipped = Slot(14, 4, false);
  skipped.first_lag_ms = 10;  // answered by an event (a skip): learned as that event already
  skipped.reward = -1;
  learner.Negatives(List(1, {Slot(10, 0, false), Slot(11, 1, false), Slot(12, 2, true),
                             Slot(13, 3, false), skipped, Slot(kNoItem, 5, false)}),
                    &items, &weights);
  EXPECT_EQ(items, (std::vector<ItemIdx>{10, 11}));
  EXPECT_EQ(weights, (std::vector<float>{0.4f, 0.4f}));
  // No click: every ignored item, weighted by the examination estimate (here the prior).
  learner.Negatives(List(1, {Slot(10, 0, false), Slot(11, 1, false), Slot(12, 2, false)}), &items,
                    &weights);
  ASSERT_EQ(items, (std::vector<ItemIdx>{10, 11, 12}));
  EXPECT_FLOAT_EQ(weights[0], 0.4f);
  EXPECT_FLOAT_EQ(weights[1], static_cast<float>(0.4 / std::log2(3.0)));
  EXPECT_FLOAT_EQ(weights[2], static_cast<float>(0.4 / std::log2(4.0)));
}

TEST(ImpressionLearnerTest, ListenerCallsEveryModelWithTheWeights) {
  std::vector<std::unique_ptr<model::Recommender>> models;
  models.push_back(std::make_unique<RecordingModel>());
  models.push_back(std::make_unique<RecordingModel>());
  model::UserStateStore users;
  data::Interaction past;
  past.user = 7;
  past.item = 99;
  past.weight = 1;
  users.Get(7).Add(past);
  ImpressionLearner learner;  // pbm, weight 0.5
  learner.SetSource(&models, &users);
  learner.OnClosed(List(7, {Slot(1, 0, false), Slot(2, 1, true), Slot(3, 2, false)}, 4242));
  for (const auto& m : models) {
    const auto& calls = static_cast<const RecordingModel&>(*m).calls;
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].user, 7u);
    EXPECT_EQ(calls[0].items, (std::vector<ItemIdx>{1, 3}));
    ASSERT_EQ(calls[0].weights.size(), 2u);
    EXPECT_FLOAT_EQ(calls[0].weights[0], 0.5f);
    EXPECT_FLOAT_EQ(calls[0].weights[1], static_cast<float>(0.5 / std::log2(4.0)));
    EXPECT_EQ(calls[0].now, 4242);
    EXPECT_EQ(calls[0].history, 1u);  // the user's state was passed
  }
  EXPECT_EQ(learner.counters().negatives, 2u);

  // Every item clicked: no call. position_bias=none: full weight. Off: no call.
  learner.OnClosed(List(7, {Slot(1, 0, true)}));
  ImpressionLearnerOptions none;
  none.position_bias = PositionBias::kNone;
  none.negative_weight = 0.8;
  ImpressionLearner flat(none);
  flat.SetSource(&models, &users);
  flat.OnClosed(List(7, {Slot(4, 0, false), Slot(5, 9, false)}));
  const auto& calls = static_cast<const RecordingModel&>(*models[0]).calls;
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].weights, (std::vector<float>{0.8f, 0.8f}));
  ImpressionLearnerOptions off;
  off.enabled = false;
  ImpressionLearner disabled(off);
  disabled.SetSource(&models, &users);
  disabled.OnClosed(List(7, {Slot(4, 0, false)}));
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_EQ(disabled.counters().lists, 1u);
}

TEST(ImpressionLearnerTest, StateRoundTripsAndBadBytesAreRefused) {
  ImpressionLearner learner;
  base::Rng rng(5);
  for (int n = 0; n < 2000; ++n) {
    learner.OnClosed(List(
        1, {Slot(1, 0, rng.UniformDouble() < 0.3, 0.1), Slot(2, 1, rng.UniformDouble() < 0.2, 0.1),
            Slot(3, 2, rng.UniformDouble() < 0.1, 0.1)}));
  }
  std::string bytes;
  base::ByteWriter w(&bytes);
  learner.Save(&w);
  ImpressionLearner loaded;
  base::ByteReader r(bytes, "test");
  ASSERT_OK(loaded.Load(&r));
  EXPECT_OK(r.ExpectEnd());
  for (uint32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(loaded.Examination(p), learner.Examination(p));
  }
  EXPECT_EQ(loaded.counters().lists, 2000u);
  ImpressionLearner bad;
  base::ByteReader truncated(std::string_view(bytes).substr(0, bytes.size() / 2), "test");
  EXPECT_FALSE(bad.Load(&truncated).ok());
  std::string wrong = bytes;
  wrong[0] = 9;  // version
  base::ByteReader versioned(wrong, "test");
  EXPECT_THAT(bad.Load(&versioned), StatusIs(StatusCode::kCorruption));
}

TEST(ImpressionLearnerTest, OptionsFromLoopOptions) {
  LoopOptions loop;
  ASSERT_OK(ImpressionLearnerOptionsFrom(loop));
  loop.position_bias = "cascade";
  EXPECT_EQ(ImpressionLearnerOptionsFrom(loop)->position_bias, PositionBias::kCascade);
  loop.position_bias = "dbn";
  EXPECT_THAT(ImpressionLearnerOptionsFrom(loop), StatusIs(StatusCode::kInvalidArgument));
  loop.position_bias = "none";
  loop.negative_weight = 1.5;
  EXPECT_THAT(ImpressionLearnerOptionsFrom(loop), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flywheel::engine
