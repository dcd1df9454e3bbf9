// Whole-network gradient check of SequenceEncoder (two blocks, two heads, two sequences of
// different lengths, dropout on with a fixed seed so the masks are identical in every
// evaluation), causality, and thread-independence of the const forward pass.
#include "nn/encoder.h"

#include <algorithm>
#include <cmath>
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

// out_rows (the last block on the rows the loss reads only) gives the outputs and gradients of
// the full pass on those rows (dropout off, so both passes compute the same function).
TEST(EncoderTest, PrunedOutputRowsMatchFullPass) {
  for (int blocks : {1, 2}) {
    EncoderConfig config = SmallConfig(false);
    config.blocks = blocks;
    SequenceEncoder enc(config);
    base::Rng rng(21);
    enc.Init(&rng, 0.5f);
    for (float& p : enc.params()) {
      p += static_cast<float>(rng.Normal() * 0.1);
    }
    const std::vector<int> lengths = {5, 3, 4};
    const std::vector<int> rows = {2, 4, 7, 11};  // tokens 2 and 4 of the first, the last ones
    auto x = RandomVector(12 * 8, &rng);
    std::vector<float> dout(12 * 8, 0.0f);
    for (int r : rows) {
      for (int c = 0; c < 8; ++c) {
        dout[r * 8 + c] = static_cast<float>(rng.Normal());
      }
    }
    EncoderWorkspace full, pruned;
    enc.Prepare(lengths, &full);
    enc.Forward(x.data(), nullptr, &full);
    std::fill(full.grads.begin(), full.grads.end(), 0.0f);
    enc.Backward(dout.data(), &full);
    enc.Prepare(lengths, &pruned);
    pruned.out_rows = rows;
    enc.Forward(x.data(), nullptr, &pruned);
    std::fill(pruned.grads.begin(), pruned.grads.end(), 0.0f);
    enc.Backward(dout.data(), &pruned);
    for (int r : rows) {
      for (int c = 0; c < 8; ++c) {
        EXPECT_NEAR(pruned.out[r * 8 + c], full.out[r * 8 + c], 1e-5) << r;
      }
    }
    for (size_t i = 0; i < full.grads.size(); ++i) {
      EXPECT_NEAR(pruned.grads[i], full.grads[i], 1e-4 * std::max(1.0f, std::abs(full.grads[i])))
          << "blocks " << blocks << " param " << i;
    }
    for (size_t i = 0; i < full.dx.size(); ++i) {
      EXPECT_NEAR(pruned.dx[i], full.dx[i], 1e-4 * std::max(1.0f, std::abs(full.dx[i])))
          << "blocks " << blocks << " input " << i;
    }
  }
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
