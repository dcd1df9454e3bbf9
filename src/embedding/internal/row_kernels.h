// Row update kernels of the sparse optimizers (internal to src/embedding; used by RowOptimizer).
// Each reads the current weights/state of one row and writes the candidate new weights/state to
// separate outputs (restrict pointers: outputs must not alias inputs); RowOptimizer checks the
// candidate with AllFinite() before committing it. Plain loops the compiler vectorises; see
// row_kernels.cc for why that file carries its own optimisation pragma. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flywheel::embedding::internal {

struct AdamStep {
  float beta1, beta2, eps;
  float lr_corrected;  // lr / (1 - beta1^t)
  float inv_c2;        // 1 / (1 - beta2^t)
};
struct FtrlStep {
  float inv_lr, beta, l1, l2;
};

// out[i] = sqrt(in[i]) for i < n (IEEE-exact; SSE2 where available). in may equal out.
void SqrtKernel(const float* in, float* out, size_t n);
// new_w = w - lr * g
void SgdKernel(size_t dim, const float* __restrict w, const float* __restrict g, float lr,
               float* __restrict new_w);
// new_acc = acc + g^2; new_w = w - lr * g / (sqrt(new_acc) + eps)
void AdagradKernel(size_t dim, const float* __restrict w, const float* __restrict acc,
                   const float* __restrict g, float lr, float eps, float* __restrict new_w,
                   float* __restrict new_acc);
// m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2; w' = w - lr/c1 * m' / (sqrt(v'/c2) + eps)
void AdamKernel(size_t dim, const float* __restrict w, const float* __restrict m,
                const float* __restrict v, const float* __restrict g, const AdamStep& s,
                float* __restrict new_w, float* __restrict new_m, float* __restrict new_v);
// FTRL-proximal per coordinate (McMahan et al. 2013, Algorithm 1), alpha = 1 / inv_lr.
void FtrlKernel(size_t dim, const float* __restrict w, const float* __restrict z,
                const float* __restrict n, const float* __restrict g, const FtrlStep& s,
                float* __restrict new_w, float* __restrict new_z, float* __restrict new_n);
// True if none of the n values is NaN or Inf (integer test on the exponent bits, which
// vectorises without fast-math).
bool AllFinite(const float* values, size_t n);

}  // namespace flywheel::embedding::internal
