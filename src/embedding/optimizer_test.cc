#include "embedding/optimizer.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace flywheel::embedding {
namespace {

// Quadratic f(w) = 0.5 * ||w - c||^2, gradient w - c.
std::vector<float> Grad(const std::vector<float>& w, const std::vector<float>& c) {
  std::vector<float> g(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    g[i] = w[i] - c[i];
  }
  return g;
}

struct Fixture {
  explicit Fixture(OptimizerOptions o) : opt(o, 2), state(opt.state_floats(), 0.0f) {}
  bool Step(float lr) { return opt.ApplyGradient(w, state, Grad(w, c), lr); }
  RowOptimizer opt;
  std::vector<float> w = {1.0f, -2.0f};
  std::vector<float> c = {3.0f, 0.5f};
  std::vector<float> state;
};

OptimizerOptions Kind(OptimizerKind kind) {
  OptimizerOptions o;
  o.kind = kind;
  return o;
}

TEST(OptimizerTest, StateSizes) {
  EXPECT_EQ(OptimizerStateFloats(OptimizerKind::kSgd, 8), 0u);
  EXPECT_EQ(OptimizerStateFloats(OptimizerKind::kAdagrad, 8), 8u);
  EXPECT_EQ(OptimizerStateFloats(OptimizerKind::kAdam, 8), 17u);
  EXPECT_EQ(OptimizerStateFloats(OptimizerKind::kFtrl, 8), 16u);
}

TEST(OptimizerTest, SgdStep) {
  Fixture f(Kind(OptimizerKind::kSgd));
  ASSERT_TRUE(f.Step(0.1f));
  // g = (-2, -2.5): w - 0.1 g
  EXPECT_FLOAT_EQ(f.w[0], 1.2f);
  EXPECT_FLOAT_EQ(f.w[1], -1.75f);
}

TEST(OptimizerTest, AdagradTwoSteps) {
  Fixture f(Kind(OptimizerKind::kAdagrad));
  double w0 = 1.0, acc0 = 0.0;
  for (int step = 0; step < 2; ++step) {
    const double g = w0 - 3.0;
    acc0 += g * g;
    w0 -= 0.5 * g / (std::sqrt(acc0) + 1e-8);
    ASSERT_TRUE(f.Step(0.5f));
    EXPECT_NEAR(f.w[0], w0, 1e-5);
    EXPECT_NEAR(f.state[0], acc0, 1e-4);
  }
}

TEST(OptimizerTest, AdamFirstTwoSteps) {
  Fixture f(Kind(OptimizerKind::kAdam));
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = 0.1;
  double w = -2.0, m = 0.0, v = 0.0;
  for (int t = 1; t <= 2; ++t) {
    const double g = w - 0.5;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double mhat = m / (1 - std::pow(b1, t));
    const double vhat = v / (1 - std::pow(b2, t));
    w -= lr * mhat / (std::sqrt(vhat) + eps);
    ASSERT_TRUE(f.Step(0.1f));
    EXPECT_NEAR(f.w[1], w, 1e-5) << "step " << t;
    EXPECT_EQ(f.state[4], static_cast<float>(t));  // per-row step count
  }
  // First Adam step moves every coordinate by ~lr (bias-corrected m/sqrt(v) = sign(g)).
}

TEST(OptimizerTest, FtrlClosedForm) {
  OptimizerOptions o = Kind(OptimizerKind::kFtrl);
  o.ftrl_beta = 1.0f;
  o.ftrl_l1 = 1.0f;
  o.ftrl_l2 = 0.5f;
  Fixture f(o);
  const double alpha = 0.5, beta = 1.0, l1 = 1.0, l2 = 0.5;
  double w[2] = {1.0, -2.0}, z[2] = {0, 0}, n[2] = {0, 0};
  const double c[2] = {3.0, 0.5};
  for (int step = 0; step < 3; ++step) {
    for (int i = 0; i < 2; ++i) {
      const double g = w[i] - c[i];
      const double sigma = (std::sqrt(n[i] + g * g) - std::sqrt(n[i])) / alpha;
      z[i] += g - sigma * w[i];
      n[i] += g * g;
      w[i] = std::fabs(z[i]) <= l1
                 ? 0.0
                 : -(z[i] - std::copysign(l1, z[i])) / ((beta + std::sqrt(n[i])) / alpha + l2);
    }
    ASSERT_TRUE(f.Step(0.5f));
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(f.w[i], w[i], 1e-5) << "step " << step << " coord " << i;
      EXPECT_NEAR(f.state[i], z[i], 1e-4);
      EXPECT_NEAR(f.state[2 + i], n[i], 1e-4);
    }
  }
}

TEST(OptimizerTest, FtrlL1ZeroesSmallCoordinates) {
  OptimizerOptions o = Kind(OptimizerKind::kFtrl);
  o.ftrl_l1 = 100.0f;
  Fixture f(o);
  ASSERT_TRUE(f.Step(0.5f));
  EXPECT_EQ(f.w[0], 0.0f);
  EXPECT_EQ(f.w[1], 0.0f);
}

TEST(OptimizerTest, AllConvergeToMinimum) {
  for (auto [kind, lr, steps] :
       {std::tuple{OptimizerKind::kSgd, 0.1f, 200}, std::tuple{OptimizerKind::kAdagrad, 0.5f, 400},
        std::tuple{OptimizerKind::kAdam, 0.05f, 600},
        std::tuple{OptimizerKind::kFtrl, 1.0f, 400}}) {
    Fixture f(Kind(kind));
    for (int s = 0; s < steps; ++s) {
      ASSERT_TRUE(f.Step(lr));
    }
    EXPECT_NEAR(f.w[0], 3.0f, 0.05f) << OptimizerKindName(kind);
    EXPECT_NEAR(f.w[1], 0.5f, 0.05f) << OptimizerKindName(kind);
  }
}

TEST(OptimizerTest, ClipsByNorm) {
  OptimizerOptions o = Kind(OptimizerKind::kSgd);
  o.clip_norm = 1.0f;
  RowOptimizer opt(o, 2);
  std::vector<float> w = {0.0f, 0.0f};
  std::vector<float> g = {3.0f, 4.0f};  // norm 5 -> (0.6, 0.8)
  ASSERT_TRUE(opt.ApplyGradient(w, {}, g, 1.0f));
  EXPECT_FLOAT_EQ(w[0], -0.6f);
  EXPECT_FLOAT_EQ(w[1], -0.8f);
  EXPECT_EQ(opt.clipped(), 1u);
  std::vector<float> small = {0.1f, 0.0f};
  ASSERT_TRUE(opt.ApplyGradient(w, {}, small, 1.0f));
  EXPECT_FLOAT_EQ(w[0], -0.7f);
  EXPECT_EQ(opt.clipped(), 1u);
}

TEST(OptimizerTest, NonFiniteGradientLeavesRowUnchanged) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (OptimizerKind kind :
       {OptimizerKind::kSgd, OptimizerKind::kAdagrad, OptimizerKind::kAdam, OptimizerKind::kFtrl}) {
    for (float bad : {nan, inf, -inf}) {
      for (float clip : {0.0f, 1.0f}) {
        OptimizerOptions o = Kind(kind);
        o.clip_norm = clip;
        Fixture f(o);
        ASSERT_TRUE(f.Step(0.1f));
        const std::vector<float> w = f.w, state = f.state;
        std::vector<float> g = {0.5f, bad};
        EXPECT_FALSE(f.opt.ApplyGradient(f.w, f.state, g, 0.1f)) << OptimizerKindName(kind);
        EXPECT_EQ(f.w, w);
        EXPECT_EQ(f.state, state);
        EXPECT_EQ(f.opt.skipped_non_finite(), 1u);
      }
    }
  }
}

TEST(OptimizerTest, HugeLearningRateOverflowIsSkipped) {
  Fixture f(Kind(OptimizerKind::kSgd));
  const std::vector<float> w = f.w;
  EXPECT_FALSE(f.Step(3e38f));  // lr * g = -6e38 overflows to inf
  EXPECT_EQ(f.w, w);
  EXPECT_EQ(f.opt.skipped_non_finite(), 1u);
}

TEST(OptimizerTest, ParseAndValidate) {
  EXPECT_EQ(*ParseOptimizerKind("adam"), OptimizerKind::kAdam);
  EXPECT_FALSE(ParseOptimizerKind("lamb").ok());
  OptimizerOptions o;
  o.adam_beta1 = 1.0f;
  EXPECT_FALSE(ValidateOptimizerOptions(o).ok());
  o = OptimizerOptions();
  o.clip_norm = -1.0f;
  EXPECT_FALSE(ValidateOptimizerOptions(o).ok());
  EXPECT_TRUE(ValidateOptimizerOptions(OptimizerOptions()).ok());
}

}  // namespace
}  // namespace flywheel::embedding
