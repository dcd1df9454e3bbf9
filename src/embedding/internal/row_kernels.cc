// The row kernels are plain loops. GCC 12 at -O2 uses the "very cheap" vectoriser cost model,
// which refuses loops whose trip count (dim) is a runtime value; the pragma lifts that for this
// file only (no global flags, no -march: the code stays baseline x86-64 SSE2). sqrt is the one
// exception: under -std=c++20 GCC keeps the errno path of sqrt (and will not vectorise it) unless
// -fno-math-errno is on the command line, which a pragma cannot do. So every kernel takes its
// square roots through SqrtKernel, which uses SSE2 _mm_sqrt_ps (part of the x86-64 baseline, no
// runtime dispatch needed; IEEE-exact like the scalar sqrt, checked in row_kernels_test.cc) and
// a plain loop elsewhere. Other compilers ignore the pragma.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("-fvect-cost-model=dynamic", "-ftree-vectorize")
#endif

#include "embedding/internal/row_kernels.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace flywheel::embedding::internal {

void SgdKernel(size_t dim, const float* __restrict w, const float* __restrict g, float lr,
               float* __restrict new_w) {
  for (size_t i = 0; i < dim; ++i) {
    new_w[i] = w[i] - lr * g[i];
  }
}

void SqrtKernel(const float* in, float* out, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) {
    _mm_storeu_ps(out + i, _mm_sqrt_ps(_mm_loadu_ps(in + i)));
  }
#endif
  for (; i < n; ++i) {
    out[i] = __builtin_sqrtf(in[i]);
  }
}

void AdagradKernel(size_t dim, const float* __restrict w, const float* __restrict acc,
                   const float* __restrict g, float lr, float eps, float* __restrict new_w,
                   float* __restrict new_acc) {
  for (size_t i = 0; i < dim; ++i) {
    new_acc[i] = acc[i] + g[i] * g[i];
  }
  SqrtKernel(new_acc, new_w, dim);  // new_w holds sqrt(acc') until the last loop
  for (size_t i = 0; i < dim; ++i) {
    new_w[i] = w[i] - lr * g[i] / (new_w[i] + eps);
  }
}

void AdamKernel(size_t dim, const float* __restrict w, const float* __restrict m,
                const float* __restrict v, const float* __restrict g, const AdamStep& s,
                float* __restrict new_w, float* __restrict new_m, float* __restrict new_v) {
  for (size_t i = 0; i < dim; ++i) {
    new_m[i] = s.beta1 * m[i] + (1.0f - s.beta1) * g[i];
    new_v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * g[i] * g[i];
    new_w[i] = new_v[i] * s.inv_c2;
  }
  SqrtKernel(new_w, new_w, dim);  // new_w holds sqrt(v'/c2) until the last loop
  for (size_t i = 0; i < dim; ++i) {
    new_w[i] = w[i] - s.lr_corrected * new_m[i] / (new_w[i] + s.eps);
  }
}

void FtrlKernel(size_t dim, const float* __restrict w, const float* __restrict z,
                const float* __restrict n, const float* __restrict g, const FtrlStep& s,
                float* __restrict new_w, float* __restrict new_z, float* __restrict new_n) {
  for (size_t i = 0; i < dim; ++i) {
    new_n[i] = n[i] + g[i] * g[i];
  }
  // Until the last loop new_w holds sqrt(n') and new_z holds sqrt(n).
  SqrtKernel(new_n, new_w, dim);
  SqrtKernel(n, new_z, dim);
  for (size_t i = 0; i < dim; ++i) {
    const float sigma = (new_w[i] - new_z[i]) * s.inv_lr;
    const float z_new = z[i] + g[i] - sigma * w[i];
    const float shrunk = z_new - __builtin_copysignf(s.l1, z_new);
    const float weight = -shrunk / ((s.beta + new_w[i]) * s.inv_lr + s.l2);
    const float keep = __builtin_fabsf(z_new) > s.l1 ? 1.0f : 0.0f;  // L1 zeroing, branch-free
    new_z[i] = z_new;
    new_w[i] = weight * keep;
  }
}

bool AllFinite(const float* values, size_t n) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    __builtin_memcpy(&bits, &values[i], sizeof(bits));
    bad |= static_cast<uint32_t>((bits & 0x7F800000u) == 0x7F800000u);
  }
  return bad == 0;
}

}  // namespace flywheel::embedding::internal
