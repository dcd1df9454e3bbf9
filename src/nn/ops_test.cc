// Fast kernels vs reference.h (tolerances stated per test) and finite-difference gradient checks
// (central differences, step 1e-2 on float inputs, error |num - analytic| / max(1e-2, |num|)
// below 2e-2) for every differentiable op. Seeds are fixed and printed by the assertions.
#include "nn/ops.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "nn/adam.h"
#include "nn/fp_env.h"
#include "nn/gemm.h"
#include "nn/reference.h"
#include "nn/test_util.h"

namespace flywheel::nn {
namespace {

using testing::Dot;
using testing::MaxGradError;
using testing::RandomVector;

constexpr float kEps = 1e-2f;
constexpr double kGradTol = 2e-2;

void ExpectNear(const std::vector<float>& a, const std::vector<float>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tol * std::max(1.0f, std::abs(b[i]))) << "index " << i;
  }
}

TEST(GemmTest, MatchesReferenceForAllTransposes) {
  base::Rng rng(1);
  const int m = 7, n = 13, k = 33;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      auto a = RandomVector(m * k, &rng);
      auto b = RandomVector(k * n, &rng);
      auto c = RandomVector(m * n, &rng);
      auto c_ref = c;
      const int lda = ta ? m : k, ldb = tb ? k : n;
      Gemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c.data(), n);
      GemmReference(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c_ref.data(), n);
      ExpectNear(c, c_ref, 1e-5);  // float sums of 33 products vs double: ~1e-6 relative
    }
  }
}

// Shapes of the direct AVX-512 kernel (where the CPU has it; OpenBLAS otherwise): partial 6-row
// and 16-column tiles, more than one 64-column block, a reduction longer than its 256 block.
TEST(GemmTest, LargerShapesMatchReference) {
  base::Rng rng(13);
  const int shapes[][3] = {{50, 50, 64}, {64, 192, 300}, {13, 70, 520}, {2, 17, 5}, {600, 600, 9}};
  for (const auto& shape : shapes) {
    const int m = shape[0], n = shape[1], k = shape[2];
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        auto a = RandomVector(static_cast<size_t>(m) * k, &rng);
        auto b = RandomVector(static_cast<size_t>(k) * n, &rng);
        auto c = RandomVector(static_cast<size_t>(m) * n, &rng);
        auto c_ref = c;
        const int lda = ta ? m : k, ldb = tb ? k : n;
        for (float beta : {0.0f, 1.0f}) {
          Gemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, beta, c.data(), n);
          GemmReference(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, beta, c_ref.data(), n);
          ExpectNear(c, c_ref, 1e-4);  // float sums of up to 520 products vs double
        }
      }
    }
  }
}

TEST(GemmTest, MatrixVectorPathMatchesReference) {
  base::Rng rng(12);
  const int n = 37, k = 19;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      const int lda = ta ? 3 : k;  // op(A) is 1 x k; stored k x 3 when transposed (column 0)
      auto a = RandomVector(static_cast<size_t>(ta ? k * 3 : k), &rng);
      auto b = RandomVector(static_cast<size_t>(n) * k, &rng);
      auto c = RandomVector(n, &rng);
      auto c_ref = c;
      const int ldb = tb ? k : n;
      Gemm(ta, tb, 1, n, k, 1.5f, a.data(), lda, b.data(), ldb, 0.5f, c.data(), n);
      GemmReference(ta, tb, 1, n, k, 1.5f, a.data(), lda, b.data(), ldb, 0.5f, c_ref.data(), n);
      ExpectNear(c, c_ref, 1e-5);
    }
  }
}

// cols 8: the portable kernel; 32: the AVX-512 one where the CPU has it (widths of 16k).
class LayerNormTest : public ::testing::TestWithParam<int> {};

TEST_P(LayerNormTest, MatchesReferenceAndGradients) {
  base::Rng rng(2);
  const int rows = 3, cols = GetParam();
  auto x = RandomVector(rows * cols, &rng);
  auto gamma = RandomVector(cols, &rng);
  auto beta = RandomVector(cols, &rng);
  auto w = RandomVector(rows * cols, &rng);
  std::vector<float> y(rows * cols), y_ref(rows * cols), mean(rows), rstd(rows);
  LayerNormForward(x.data(), gamma.data(), beta.data(), rows, cols, y.data(), mean.data(),
                   rstd.data());
  reference::LayerNorm(x.data(), gamma.data(), beta.data(), rows, cols, y_ref.data());
  ExpectNear(y, y_ref, 1e-5);
  std::vector<float> dx(x.size()), dgamma(cols), dbeta(cols);
  LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), w.data(), rows, cols,
                    dx.data(), dgamma.data(), dbeta.data());
  auto f = [&] {
    LayerNormForward(x.data(), gamma.data(), beta.data(), rows, cols, y.data(), mean.data(),
                     rstd.data());
    return Dot(w, y);
  };
  EXPECT_LT(MaxGradError(f, &x, dx, kEps), kGradTol);
  EXPECT_LT(MaxGradError(f, &gamma, dgamma, kEps), kGradTol);
  EXPECT_LT(MaxGradError(f, &beta, dbeta, kEps), kGradTol);
}

INSTANTIATE_TEST_SUITE_P(Widths, LayerNormTest, ::testing::Values(8, 32));

TEST(SoftmaxTest, MatchesReferenceAndGradients) {
  base::Rng rng(3);
  const int rows = 4, cols = 9;
  auto x = RandomVector(rows * cols, &rng, 2.0);
  auto w = RandomVector(rows * cols, &rng);
  std::vector<float> y = x, y_ref(x.size());
  SoftmaxRows(y.data(), rows, cols);
  reference::Softmax(x.data(), rows, cols, y_ref.data());
  ExpectNear(y, y_ref, 1e-6);
  std::vector<float> dx(x.size());
  SoftmaxBackward(y.data(), w.data(), rows, cols, dx.data());
  auto f = [&] {
    std::vector<float> z = x;
    SoftmaxRows(z.data(), rows, cols);
    return Dot(w, z);
  };
  EXPECT_LT(MaxGradError(f, &x, dx, kEps), kGradTol);
}

TEST(ActivationTest, GeluMatchesReferenceAndActivationsHaveGradients) {
  base::Rng rng(4);
  auto x = RandomVector(50, &rng, 2.0);
  for (float& v : x) {
    v = std::abs(v) < 0.05f ? 0.3f : v;  // keep ReLU away from its kink
  }
  auto w = RandomVector(50, &rng);
  std::vector<float> y(50), y_ref(50), dx(50);
  GeluForward(x.data(), 50, y.data());
  reference::Gelu(x.data(), 50, y_ref.data());
  ExpectNear(y, y_ref, 1e-6);
  GeluBackward(x.data(), w.data(), 50, dx.data());
  auto gelu = [&] {
    GeluForward(x.data(), 50, y.data());
    return Dot(w, y);
  };
  EXPECT_LT(MaxGradError(gelu, &x, dx, kEps), kGradTol);
  ReluBackward(x.data(), w.data(), 50, dx.data());
  auto relu = [&] {
    ReluForward(x.data(), 50, y.data());
    return Dot(w, y);
  };
  EXPECT_LT(MaxGradError(relu, &x, dx, kEps), kGradTol);
}

TEST(DropoutTest, MasksScalesAndIsSeeded) {
  base::Rng rng(5);
  const int n = 10000;
  std::vector<float> x(n, 1.0f), y(n), mask(n), dx(n);
  DropoutForward(x.data(), n, 0.25f, &rng, mask.data(), y.data());
  int dropped = 0;
  for (int i = 0; i < n; ++i) {
    dropped += y[i] == 0.0f;
    ASSERT_TRUE(y[i] == 0.0f || std::abs(y[i] - 1.0f / 0.75f) < 1e-6f);
  }
  EXPECT_NEAR(dropped / static_cast<double>(n), 0.25, 0.02);  // ~5 standard deviations
  DropoutBackward(mask.data(), x.data(), n, dx.data());
  EXPECT_EQ(dx, y);  // linear in x: the backward is the same mask
  base::Rng a(9), b(9);
  std::vector<float> m1(100), m2(100), y2(100);
  DropoutForward(x.data(), 100, 0.5f, &a, m1.data(), y2.data());
  DropoutForward(x.data(), 100, 0.5f, &b, m2.data(), y2.data());
  EXPECT_EQ(m1, m2);
  DropoutForward(x.data(), 100, 0.0f, nullptr, m1.data(), y2.data());
  EXPECT_EQ(y2, std::vector<float>(100, 1.0f));
}

TEST(EmbeddingTest, GatherAndScatterAddAreAdjoint) {
  base::Rng rng(6);
  const int rows = 5, cols = 3;
  auto table = RandomVector(rows * cols, &rng);
  const std::vector<uint32_t> ids = {4, 0, 4, 2};
  std::vector<float> out(ids.size() * cols);
  Gather(table.data(), cols, ids.data(), 4, out.data());
  for (size_t r = 0; r < ids.size(); ++r) {
    for (int c = 0; c < cols; ++c) {
      EXPECT_EQ(out[r * cols + c], table[ids[r] * cols + c]);
    }
  }
  auto w = RandomVector(out.size(), &rng);
  std::vector<float> dtable(table.size(), 0.0f);
  ScatterAdd(w.data(), cols, ids.data(), 4, dtable.data());
  auto f = [&] {
    Gather(table.data(), cols, ids.data(), 4, out.data());
    return Dot(w, out);
  };
  EXPECT_LT(MaxGradError(f, &table, dtable, kEps), kGradTol);
  std::vector<float> y = {1, 2, 3};
  AddInPlace(table.data(), 3, y.data());
  EXPECT_FLOAT_EQ(y[0], 1 + table[0]);
}

TEST(LossTest, SoftmaxCrossEntropyMatchesReferenceAndGradients) {
  base::Rng rng(7);
  const int rows = 3, cols = 11;
  auto logits = RandomVector(rows * cols, &rng, 3.0);
  const std::vector<uint32_t> targets = {0, 10, 4};
  std::vector<float> d(logits.size());
  const double loss =
      SoftmaxCrossEntropy(logits.data(), targets.data(), rows, cols, 1.0f, d.data());
  EXPECT_NEAR(loss, reference::SoftmaxCrossEntropy(logits.data(), targets.data(), rows, cols),
              1e-5);
  std::vector<float> scratch(logits.size());
  auto f = [&] {
    return SoftmaxCrossEntropy(logits.data(), targets.data(), rows, cols, 1.0f, scratch.data());
  };
  EXPECT_LT(MaxGradError(f, &logits, d, kEps), kGradTol);
}

TEST(LossTest, SampledSoftmaxMatchesReferenceAndGradients) {
  base::Rng rng(8);
  const int rows = 3, s = 5;
  auto pos = RandomVector(rows, &rng, 2.0);
  auto neg = RandomVector(rows * s, &rng, 2.0);
  auto pos_logq = RandomVector(rows, &rng);
  auto neg_logq = RandomVector(rows * s, &rng);
  std::vector<uint8_t> hit(rows * s, 0);
  hit[3] = 1;
  hit[7] = 1;
  std::vector<float> dpos(rows), dneg(rows * s);
  const double loss = SampledSoftmaxLoss(pos.data(), neg.data(), pos_logq.data(), neg_logq.data(),
                                         hit.data(), rows, s, 1.0f, dpos.data(), dneg.data());
  EXPECT_NEAR(loss,
              reference::SampledSoftmaxLoss(pos.data(), neg.data(), pos_logq.data(),
                                            neg_logq.data(), hit.data(), rows, s),
              1e-5);
  EXPECT_EQ(dneg[3], 0.0f);
  std::vector<float> a(rows), b(rows * s);
  auto f = [&] {
    return SampledSoftmaxLoss(pos.data(), neg.data(), pos_logq.data(), neg_logq.data(), hit.data(),
                              rows, s, 1.0f, a.data(), b.data());
  };
  EXPECT_LT(MaxGradError(f, &pos, dpos, kEps), kGradTol);
  EXPECT_LT(MaxGradError(f, &neg, dneg, kEps), kGradTol);
}

TEST(LossTest, BceWithNegativesMatchesReferenceAndGradients) {
  base::Rng rng(9);
  const int rows = 4, s = 3;
  auto pos = RandomVector(rows, &rng, 3.0);
  auto neg = RandomVector(rows * s, &rng, 3.0);
  std::vector<float> dpos(rows), dneg(rows * s);
  const double loss =
      BceWithNegatives(pos.data(), neg.data(), rows, s, 1.0f, dpos.data(), dneg.data());
  EXPECT_NEAR(loss, reference::BceWithNegatives(pos.data(), neg.data(), rows, s), 1e-5);
  std::vector<float> a(rows), b(rows * s);
  auto f = [&] {
    return BceWithNegatives(pos.data(), neg.data(), rows, s, 1.0f, a.data(), b.data());
  };
  EXPECT_LT(MaxGradError(f, &pos, dpos, kEps), kGradTol);
  EXPECT_LT(MaxGradError(f, &neg, dneg, kEps), kGradTol);
  // Stable for huge logits.
  const float big[2] = {1e4f, -1e4f};
  EXPECT_TRUE(std::isfinite(BceWithNegatives(big, big + 1, 1, 1, 1.0f, a.data(), b.data())));
}

// t = 6: one block of query rows; t = 37: three 16-row blocks (the last partial) and softmax
// rows longer than 16.
class AttentionTest : public ::testing::TestWithParam<int> {};

TEST_P(AttentionTest, MatchesReferenceAndGradients) {
  base::Rng rng(10);
  const int t = GetParam(), d = 8, heads = 2;
  auto qkv = RandomVector(t * 3 * d, &rng);
  auto w = RandomVector(t * d, &rng);
  std::vector<float> probs(heads * t * t), out(t * d), out_ref(t * d);
  CausalAttentionForward(qkv.data(), t, d, heads, probs.data(), out.data());
  reference::CausalAttention(qkv.data(), t, d, heads, out_ref.data());
  ExpectNear(out, out_ref, 1e-5);
  for (int i = 0; i < t; ++i) {
    for (int j = i + 1; j < t; ++j) {
      EXPECT_EQ(probs[i * t + j], 0.0f);  // causal: no weight on the future
    }
  }
  std::vector<float> scratch(t * t), dqkv(qkv.size());
  CausalAttentionBackward(qkv.data(), probs.data(), w.data(), t, d, heads, scratch.data(),
                          dqkv.data());
  auto f = [&] {
    CausalAttentionForward(qkv.data(), t, d, heads, probs.data(), out.data());
    return Dot(w, out);
  };
  EXPECT_LT(MaxGradError(f, &qkv, dqkv, kEps), kGradTol);
}

INSTANTIATE_TEST_SUITE_P(Lengths, AttentionTest, ::testing::Values(6, 37));

TEST(AdamTest, StepsTowardsMinimumAndDetectsNonFinite) {
  std::vector<float> p = {1.0f, -2.0f}, m(2, 0.0f), v(2, 0.0f);
  AdamOptions o;
  o.lr = 0.1f;
  for (int step = 1; step <= 200; ++step) {
    const std::vector<float> g = {2 * p[0], 2 * p[1]};  // d/dp of p^2
    AdamStep(o, step, g, p, m, v);
  }
  EXPECT_LT(std::abs(p[0]), 0.05f);
  EXPECT_LT(std::abs(p[1]), 0.05f);
  // The first step moves every coordinate by lr (bias-corrected m / sqrt(v) = sign(g)).
  std::vector<float> q = {0.0f, 0.0f, 5.0f}, mq(3, 0.0f), vq(3, 0.0f);
  const std::vector<float> g = {0.0f, 0.0f, 3.0f}, gq = g;
  const std::vector<uint32_t> rows = {2};
  AdamStepRows(o, 1, 1, rows, gq, q, mq, vq);
  EXPECT_NEAR(q[2], 4.9f, 1e-5);
  EXPECT_EQ(q[0], 0.0f);
  EXPECT_TRUE(AllFinite(g));
  EXPECT_FALSE(AllFinite(std::vector<float>{1.0f, NAN}));
  EXPECT_FALSE(AllFinite(std::vector<float>{INFINITY}));
}

// While a guard is alive, subnormal results are flushed to zero (FTZ) and subnormal inputs read
// as zero (DAZ), in scalar code and in the GEMM kernels alike; the mode is restored after.
TEST(FpEnvTest, FlushesSubnormalsWhileAliveAndRestoresTheMode) {
#ifndef FLYWHEEL_NN_HAS_MXCSR
  GTEST_SKIP() << "no MXCSR on this CPU";
#else
  volatile float tiny = 1e-30f;
  volatile float scale = 1e-10f;
  const float sub = tiny * scale;  // 1e-40
  ASSERT_EQ(std::fpclassify(sub), FP_SUBNORMAL) << "the process already flushes subnormals";
  const int m = 6, n = 64, k = 8;  // the AVX-512 micro-tile's shape
  std::vector<float> a(m * k, sub), b(k * n, 1.0f), c(m * n, -1.0f);
  {
    const ScopedFlushDenormals flush;
    volatile float product = tiny * scale;
    EXPECT_EQ(product, 0.0f) << "FTZ";
    volatile float input = sub;
    // x + 0 is not folded away (it maps -0 to +0); fpclassify inspects the bits, where a
    // comparison with 0 would itself read a subnormal as zero under DAZ.
    volatile float sum = input + 0.0f;
    EXPECT_EQ(std::fpclassify(sum), FP_ZERO) << "DAZ";
    Gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    for (float v : c) {
      ASSERT_EQ(v, 0.0f);
    }
    {
      const ScopedFlushDenormals nested;  // restores the flushing mode, not the default
    }
    volatile float again = tiny * scale;
    EXPECT_EQ(again, 0.0f);
  }
  volatile float after = tiny * scale;
  EXPECT_EQ(after, sub) << "the mode is restored";
  Gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  EXPECT_GT(c[0], 0.0f) << "subnormal sums without the guard";
#endif
}

}  // namespace
}  // namespace flywheel::nn
