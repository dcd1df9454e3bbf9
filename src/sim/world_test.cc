#include "sim/world.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace flywheel::sim {
namespace {

WorldOptions Small() {
  WorldOptions o;
  o.users = 20;
  o.items = 50;
  o.dim = 8;
  return o;
}

TEST(WorldTest, ClickProbabilityIsTheSigmoidOfTheAffinityTimesFatigue) {
  WorldOptions o = Small();
  o.click_scale = 2.0;
  o.click_bias = -1.5;
  o.fatigue = 0.5;
  const World world = World::Synthetic(o, 7);
  for (int u = 0; u < 3; ++u) {
    for (int i = 0; i < 5; ++i) {
      double dot = 0;
      for (int d = 0; d < o.dim; ++d) {
        dot += static_cast<double>(world.user(u).u[d]) * world.item(i).v[d];
      }
      const double expected = 1.0 / (1.0 + std::exp(-(2.0 * dot - 1.5)));
      EXPECT_NEAR(world.Attraction(u, i), expected, 1e-12);
      EXPECT_NEAR(world.ClickProb(u, i, 0), expected, 1e-12);
      EXPECT_NEAR(world.ClickProb(u, i, 3), expected * 0.125, 1e-12);
    }
  }
}

TEST(WorldTest, SyntheticWorldIsDeterministicPerSeed) {
  const World a = World::Synthetic(Small(), 3);
  const World b = World::Synthetic(Small(), 3);
  const World c = World::Synthetic(Small(), 4);
  EXPECT_EQ(a.user(5).u, b.user(5).u);
  EXPECT_EQ(a.item(7).v, b.item(7).v);
  EXPECT_NE(a.item(7).v, c.item(7).v);
  EXPECT_EQ(a.FindItem("i7"), 7);
  EXPECT_EQ(a.FindItem("nope"), -1);
}

TEST(WorldTest, ExaminationIsOneOverOnePlusPositionToEta) {
  WorldOptions o = Small();
  o.eta = 0.7;
  const World world = World::Synthetic(o, 1);
  EXPECT_DOUBLE_EQ(world.ExamProb(0), 1.0);
  EXPECT_NEAR(world.ExamProb(3), std::pow(4.0, -0.7), 1e-15);
}

// The sampled sessions reproduce the model's per-position click and purchase rates.
void CheckMonteCarlo(Examination examination) {
  WorldOptions o = Small();
  o.examination = examination;
  o.eta = 1.0;
  o.buy_prob = 0.3;
  const World world = World::Synthetic(o, 1);
  const std::vector<double> probs = {0.5, 0.3, 0.8, 0.1, 0.6, 0.0};
  const std::vector<double> expected = world.ClickMarginals(probs);
  constexpr int kRuns = 200'000;
  std::vector<int> clicks(probs.size(), 0);
  std::vector<int> buys(probs.size(), 0);
  base::Rng rng(99);
  for (int n = 0; n < kRuns; ++n) {
    const Session s = SampleSession(world, probs, rng);
    int clicked = 0;
    for (size_t p = 0; p < probs.size(); ++p) {
      clicks[p] += s.clicked[p];
      buys[p] += s.bought[p];
      clicked += s.clicked[p];
      EXPECT_LE(s.clicked[p], s.examined[p]);
      EXPECT_LE(s.bought[p], s.clicked[p]);
    }
    if (examination == Examination::kCascade) {
      ASSERT_LE(clicked, 1);
    }
  }
  for (size_t p = 0; p < probs.size(); ++p) {
    const double rate = static_cast<double>(clicks[p]) / kRuns;
    const double se = std::sqrt(expected[p] * (1 - expected[p]) / kRuns);
    EXPECT_NEAR(rate, expected[p], 5 * se + 1e-12) << "position " << p;
    const double buy_expected = expected[p] * 0.3;
    const double buy_se = std::sqrt(buy_expected * (1 - buy_expected) / kRuns);
    EXPECT_NEAR(static_cast<double>(buys[p]) / kRuns, buy_expected, 5 * buy_se + 1e-12);
  }
}

TEST(WorldTest, PositionBasedSessionsMatchTheirDefinition) {
  CheckMonteCarlo(Examination::kPositionBased);
}

TEST(WorldTest, CascadeSessionsMatchTheirDefinition) {
  CheckMonteCarlo(Examination::kCascade);
}

TEST(WorldTest, MarginalsFollowTheExaminationModel) {
  WorldOptions o = Small();
  o.eta = 1.0;
  World pbm = World::Synthetic(o, 1);
  const std::vector<double> probs = {0.5, 0.4, 0.2};
  std::vector<double> m = pbm.ClickMarginals(probs);
  EXPECT_DOUBLE_EQ(m[0], 0.5);
  EXPECT_DOUBLE_EQ(m[1], 0.4 / 2);
  EXPECT_DOUBLE_EQ(m[2], 0.2 / 3);
  o.examination = Examination::kCascade;
  World cascade = World::Synthetic(o, 1);
  m = cascade.ClickMarginals(probs);
  EXPECT_DOUBLE_EQ(m[0], 0.5);
  EXPECT_DOUBLE_EQ(m[1], 0.5 * 0.4);
  EXPECT_DOUBLE_EQ(m[2], 0.5 * 0.6 * 0.2);
  EXPECT_DOUBLE_EQ(cascade.ExpectedReward(probs, 2.0), 2.0 * (0.5 + 0.2 + 0.06));
}

TEST(WorldTest, NewItemsAndDriftAreSeeded) {
  World a = World::Synthetic(Small(), 5);
  World b = World::Synthetic(Small(), 5);
  base::Rng ra(11);
  base::Rng rb(11);
  EXPECT_EQ(a.AddItems(4, 2, 1000, ra), 50);
  EXPECT_EQ(b.AddItems(4, 2, 1000, rb), 50);
  EXPECT_EQ(a.num_items(), 54);
  EXPECT_EQ(a.item(53).v, b.item(53).v);
  EXPECT_EQ(a.item(53).arrival_day, 2);
  EXPECT_EQ(a.item(53).arrived_ms, 1000);
  EXPECT_EQ(a.FindItem("i53"), 53);
  const std::vector<float> before = a.user(0).u;
  a.Drift(ra);
  EXPECT_NE(a.user(0).u, before);
}

}  // namespace
}  // namespace flywheel::sim
