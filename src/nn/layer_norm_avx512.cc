// AVX-512 layer norm for rows whose width is a multiple of 16 (see ops.h). Compiled for
// AVX-512F with a function attribute (the project builds without -march); LayerNormForward and
// LayerNormBackward call these only when the CPU has AVX-512F.
#include "nn/gemm_internal.h"

#if FLYWHEEL_NN_HAVE_AVX512_KERNEL

#include <cmath>
#include <cstdint>

#include <immintrin.h>

#define FLYWHEEL_AVX512 __attribute__((target("avx512f,fma")))

// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized in _mm512_reduce_add_ps (its
// _mm256_undefined_pd operand), a false positive inside the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace flywheel::nn::internal {

FLYWHEEL_AVX512 void LayerNormForwardAvx512(const float* x, const float* gamma, const float* beta,
                                            int rows, int cols, float eps, float* y, float* mean,
                                            float* rstd) {
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    float* yr = y + static_cast<int64_t>(r) * cols;
    __m512 s = _mm512_setzero_ps();
    for (int c = 0; c < cols; c += 16) {
      s = _mm512_add_ps(s, _mm512_loadu_ps(xr + c));
    }
    const float mu = _mm512_reduce_add_ps(s) * inv_n;
    const __m512 vmu = _mm512_set1_ps(mu);
    __m512 q = _mm512_setzero_ps();
    for (int c = 0; c < cols; c += 16) {
      const __m512 dv = _mm512_sub_ps(_mm512_loadu_ps(xr + c), vmu);
      q = _mm512_fmadd_ps(dv, dv, q);
    }
    const float rs = 1.0f / std::sqrt(_mm512_reduce_add_ps(q) * inv_n + eps);
    const __m512 vrs = _mm512_set1_ps(rs);
    for (int c = 0; c < cols; c += 16) {
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + c), vmu), vrs);
      _mm512_storeu_ps(
          yr + c, _mm512_fmadd_ps(xhat, _mm512_loadu_ps(gamma + c), _mm512_loadu_ps(beta + c)));
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

FLYWHEEL_AVX512 void LayerNormBackwardAvx512(const float* x, const float* gamma, const float* mean,
                                             const float* rstd, const float* dy, int rows, int cols,
                                             float* dx, float* dgamma, float* dbeta) {
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    const float* dyr = dy + static_cast<int64_t>(r) * cols;
    float* dxr = dx + static_cast<int64_t>(r) * cols;
    const __m512 vmu = _mm512_set1_ps(mean[r]);
    const __m512 vrs = _mm512_set1_ps(rstd[r]);
    __m512 sg = _mm512_setzero_ps();
    __m512 sgx = _mm512_setzero_ps();
    for (int c = 0; c < cols; c += 16) {
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + c), vmu), vrs);
      const __m512 g = _mm512_mul_ps(_mm512_loadu_ps(dyr + c), _mm512_loadu_ps(gamma + c));
      sg = _mm512_add_ps(sg, g);
      sgx = _mm512_fmadd_ps(g, xhat, sgx);
    }
    const __m512 mean_g = _mm512_set1_ps(inv_n * _mm512_reduce_add_ps(sg));
    const __m512 mean_gx = _mm512_set1_ps(inv_n * _mm512_reduce_add_ps(sgx));
    for (int c = 0; c < cols; c += 16) {
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + c), vmu), vrs);
      const __m512 g = _mm512_mul_ps(_mm512_loadu_ps(dyr + c), _mm512_loadu_ps(gamma + c));
      // rstd * (g - mean_g - xhat * mean_gx)
      const __m512 t = _mm512_sub_ps(_mm512_sub_ps(g, mean_g), _mm512_mul_ps(xhat, mean_gx));
      _mm512_storeu_ps(dxr + c, _mm512_mul_ps(vrs, t));
    }
  }
  // dgamma += sum_r dy * xhat, dbeta += sum_r dy: column-vector outer, so that the sums stay in
  // registers over the rows.
  for (int c = 0; c < cols; c += 16) {
    __m512 dg = _mm512_loadu_ps(dgamma + c);
    __m512 db = _mm512_loadu_ps(dbeta + c);
    for (int r = 0; r < rows; ++r) {
      const int64_t o = static_cast<int64_t>(r) * cols + c;
      const __m512 xhat = _mm512_mul_ps(
          _mm512_sub_ps(_mm512_loadu_ps(x + o), _mm512_set1_ps(mean[r])), _mm512_set1_ps(rstd[r]));
      const __m512 d = _mm512_loadu_ps(dy + o);
      dg = _mm512_fmadd_ps(d, xhat, dg);
      db = _mm512_add_ps(db, d);
    }
    _mm512_storeu_ps(dgamma + c, dg);
    _mm512_storeu_ps(dbeta + c, db);
  }
}

}  // namespace flywheel::nn::internal

#endif  // FLYWHEEL_NN_HAVE_AVX512_KERNEL
