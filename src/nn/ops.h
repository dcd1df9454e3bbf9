// Row-major float32 kernels with forward and backward passes for the sequence models.
//
// Shapes are stated once per function as rows x cols. Conventions: a backward pass WRITES the
// gradient of its input (dx = ...) and ACCUMULATES the gradients of parameters (dgamma += ...),
// so that a parameter shared by several calls (or threads that each own a gradient buffer) sums
// correctly. Losses return the summed loss of their rows and write d(loss * scale)/d(inputs).
// Every kernel has a plain reference in reference.h; ops_test.cc compares them and checks every
// backward pass by finite differences.
// Thread safety: pure functions over caller-owned buffers (the Dropout mask takes an Rng).
#pragma once

#include <cstdint>

#include "base/random.h"

namespace flywheel::nn {

inline constexpr float kLayerNormEps = 1e-5f;

// y = (x - mean) / sqrt(var + eps) * gamma + beta per row (x, y: rows x cols; gamma, beta: cols);
// saves mean and rstd (rows) for the backward pass.
void LayerNormForward(const float* x, const float* gamma, const float* beta, int rows, int cols,
                      float* y, float* mean, float* rstd);
void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, int rows, int cols, float* dx, float* dgamma, float* dbeta);

// In place, per row of rows x cols (max-subtracted, so finite for any finite input).
void SoftmaxRows(float* x, int rows, int cols);
// dx = y * (dy - sum(dy * y)) per row (y: the softmax output).
void SoftmaxBackward(const float* y, const float* dy, int rows, int cols, float* dx);

// Element-wise over n values.
void ReluForward(const float* x, int64_t n, float* y);
void ReluBackward(const float* x, const float* dy, int64_t n, float* dx);
// GELU, tanh approximation.
void GeluForward(const float* x, int64_t n, float* y);
void GeluBackward(const float* x, const float* dy, int64_t n, float* dx);

// Inverted dropout: mask[i] = 0 with probability p else 1 / (1 - p); y = x * mask. p = 0 fills
// the mask with ones. Backward: dx = dy * mask. The mask takes one 64-bit draw of `rng` per call
// (a key; element i's bits are a hash of the key and i), so it costs a few instructions per value.
void DropoutForward(const float* x, int64_t n, float p, base::Rng* rng, float* mask, float* y);
void DropoutBackward(const float* mask, const float* dy, int64_t n, float* dx);
// Fused dropout and residual: y = residual + Dropout(x) with the mask of DropoutForward (the same
// draw of `rng`). y may be residual.
void DropoutResidualForward(const float* x, const float* residual, int64_t n, float p,
                            base::Rng* rng, float* mask, float* y);

// Residual: y += x. Its backward is the identity on both branches (callers add gradients).
void AddInPlace(const float* x, int64_t n, float* y);
// p = a + keep * (p - a) (pull p towards a; sasrec's online anchor).
void PullTowards(const float* a, int64_t n, float keep, float* p);
// y[c] += sum over rows of x[r][c] (x: rows x cols; a bias gradient).
void ColumnSumAdd(const float* x, int rows, int cols, float* y);
// y += a * x over n values.
void Axpy(float a, const float* x, int64_t n, float* y);
// sum x[i] y[i] over n values (16 partial sums, vectorised).
float Dot(const float* x, const float* y, int n);

// out[r] = table[ids[r]] (each a row of `cols` floats), r < n.
void Gather(const float* table, int cols, const uint32_t* ids, int n, float* out);
// dtable[ids[r]] += dout[r].
void ScatterAdd(const float* dout, int cols, const uint32_t* ids, int n, float* dtable);

// Full-softmax cross-entropy over rows x cols logits with one target column per row; returns
// sum over rows of -log softmax(logits)[target]; dlogits = scale * (softmax - onehot).
double SoftmaxCrossEntropy(const float* logits, const uint32_t* targets, int rows, int cols,
                           float scale, float* dlogits);

// Sampled softmax with log-q correction. Per row r: the positive logit pos[r] and `s` sampled
// negative logits neg[r * s + j]; corrected logits subtract log q (the sampling probability of
// the item: pos_logq[r], neg_logq[r * s + j]); a negative marked in `hit` (nullable, 1 = the
// sampled item is the positive) is removed. Loss = -log softmax(corrected)[positive].
double SampledSoftmaxLoss(const float* pos, const float* neg, const float* pos_logq,
                          const float* neg_logq, const uint8_t* hit, int rows, int s, float scale,
                          float* dpos, float* dneg);

// Binary cross-entropy with negatives: per row -log sigmoid(pos[r]) - sum_j log(1 - sigmoid(
// neg[r * s + j])).
double BceWithNegatives(const float* pos, const float* neg, int rows, int s, float scale,
                        float* dpos, float* dneg);

// Causal multi-head self-attention on one sequence of t tokens. qkv: t x 3d (queries, keys,
// values side by side, head h owning columns [h * d/heads, (h + 1) * d/heads) of each third);
// out: t x d; probs: heads x t x t (saved attention weights, zero above the diagonal).
// Scores are scaled by 1 / sqrt(d / heads). REQUIRES: d % heads == 0.
void CausalAttentionForward(const float* qkv, int t, int d, int heads, float* probs, float* out);
// dqkv (t x 3d) written from dout (t x d); scratch: t x t floats.
void CausalAttentionBackward(const float* qkv, const float* probs, const float* dout, int t, int d,
                             int heads, float* scratch, float* dqkv);

}  // namespace flywheel::nn
