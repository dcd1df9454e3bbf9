// AVX-512 element-wise kernels: layer norm for rows whose width is a multiple of 16 and the
// causal softmax of attention (see ops.h). Compiled for AVX-512F with a function attribute (the
// project builds without -march); ops.cc calls these only when the CPU has AVX-512F.
#include "nn/gemm_internal.h"

#if FLYWHEEL_NN_HAVE_AVX512_KERNEL

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <immintrin.h>

#define FLYWHEEL_AVX512 __attribute__((target("avx512f,fma")))

// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized in _mm512_reduce_add_ps / _max_ps (their
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

namespace {

// exp(x) lane-wise: the Cephes polynomial of simd::Exp (2^n times a degree-5 polynomial on
// |r| <= ln2 / 2, ~2 ulp); inputs below -87 give exp(-87), NaN stays NaN (max/min return their
// second operand when one is NaN).
FLYWHEEL_AVX512 inline __m512 Exp512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), x);
  const __m512 round = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23
  const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), round);
  const __m512 fn = _mm512_sub_ps(t, round);
  const __m512i n = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(round));
  __m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 er = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(er, _mm512_castsi512_ps(bits));
}

// Lanes [0, 16) of columns [c, len): all lanes, or the tail.
inline __mmask16 Lanes(int c, int len) {
  const int k = len - c;
  return k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << k) - 1u);
}

}  // namespace

FLYWHEEL_AVX512 void CausalSoftmaxAvx512(int r0, int r1, int t, float* p) {
  const __m512 lowest = _mm512_set1_ps(-3.4e38f);
  for (int i = r0; i < r1; ++i) {
    float* row = p + static_cast<int64_t>(i) * t;
    const int len = i + 1;
    __m512 vmax = lowest;
    for (int c = 0; c < len; c += 16) {
      vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(lowest, Lanes(c, len), row + c));
    }
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 sum = _mm512_setzero_ps();
    for (int c = 0; c < len; c += 16) {
      const __mmask16 k = Lanes(c, len);
      const __m512 e =
          _mm512_maskz_mov_ps(k, Exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + c), mx)));
      _mm512_mask_storeu_ps(row + c, k, e);
      sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int c = 0; c < len; c += 16) {
      const __mmask16 k = Lanes(c, len);
      _mm512_mask_storeu_ps(row + c, k, _mm512_mul_ps(inv, _mm512_maskz_loadu_ps(k, row + c)));
    }
    std::fill(row + len, row + t, 0.0f);
  }
}

}  // namespace flywheel::nn::internal

#endif  // FLYWHEEL_NN_HAVE_AVX512_KERNEL
