// Plain reference implementations (double accumulation, textbook formulas, no GEMM) of the
// forward passes in ops.h, used by the tests to check the fast kernels within a stated
// tolerance. Same shapes and conventions as ops.h. Not for production use (slow).
#pragma once

#include <cstdint>

namespace flywheel::nn::reference {

void LayerNorm(const float* x, const float* gamma, const float* beta, int rows, int cols, float* y);
void Softmax(const float* x, int rows, int cols, float* y);
void Gelu(const float* x, int64_t n, float* y);
double SoftmaxCrossEntropy(const float* logits, const uint32_t* targets, int rows, int cols);
double SampledSoftmaxLoss(const float* pos, const float* neg, const float* pos_logq,
                          const float* neg_logq, const uint8_t* hit, int rows, int s);
double BceWithNegatives(const float* pos, const float* neg, int rows, int s);
// Loops over every (head, query, key) triple; out: t x d.
void CausalAttention(const float* qkv, int t, int d, int heads, float* out);

}  // namespace flywheel::nn::reference
