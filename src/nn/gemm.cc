#include "nn/gemm.h"

#include <mutex>

#include <cblas.h>

namespace flywheel::nn {

void UseSingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
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
