#include "nn/gemm.h"

#include <algorithm>
#include <cstdint>
#include <mutex>

#include <cblas.h>

#include "nn/gemm_internal.h"

namespace flywheel::nn {

void UseSingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

namespace {

// Whether Gemm() takes the direct AVX-512 kernel for this shape. Not for m == 1 (sgemv), nor
// when m and n are both large (the full-softmax logits over a catalogue): OpenBLAS's packed,
// cache-blocked kernel is faster there (doc/nn.md).
bool UseDirectKernel(int m, int n) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  return m > 1 && n > 0 && !(m > 512 && n > 512) && internal::HaveAvx512();
#else
  (void)m;
  (void)n;
  return false;
#endif
}

}  // namespace

void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (UseDirectKernel(m, n)) {
    internal::GemmAvx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, nullptr, c, ldc);
    return;
  }
#endif
  GemmOpenBlas(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void Transpose(const float* a, int rows, int cols, int lda, float* out) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (internal::HaveAvx512()) {
    internal::TransposeAvx512(a, rows, cols, lda, out);
    return;
  }
#endif
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      out[static_cast<int64_t>(c) * rows + r] = a[static_cast<int64_t>(r) * lda + c];
    }
  }
}

void GemmBias(int m, int n, int k, const float* a, const float* b, const float* bias, float* c) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (UseDirectKernel(m, n)) {
    internal::GemmAvx512(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, bias, c, n);
    return;
  }
#endif
  for (int r = 0; r < m; ++r) {
    std::copy_n(bias, n, c + static_cast<int64_t>(r) * n);
  }
  Gemm(false, false, m, n, k, 1.0f, a, k, b, n, 1.0f, c, n);
}

void GemmOpenBlas(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) {
    return;
  }
  UseSingleThreadedBlas();
  if (m == 1) {
    // A matrix-vector product: sgemm would pack all of B first (dominant for serving, where B
    // is the item table).
    const int incx = trans_a ? lda : 1;
    if (trans_b) {  // B stored n x k: c = B a
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, incx, beta, c, 1);
    } else {  // B stored k x n: c = B^T a
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, incx, beta, c, 1);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void GemmReference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int p = 0; p < k; ++p) {
        const float x = trans_a ? a[p * lda + i] : a[i * lda + p];
        const float y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        sum += static_cast<double>(x) * y;
      }
      const float old = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      c[i * ldc + j] = static_cast<float>(alpha * sum) + old;
    }
  }
}

}  // namespace flywheel::nn
