// GEMM for the nn module: C = alpha * op(A) * op(B) + beta * C on row-major float32 matrices,
// op(X) = X or X^T. Gemm() goes through OpenBLAS (cblas_sgemm; chosen over Eigen 3.4 on the
// shapes SASRec uses, numbers in doc/nn.md); GemmReference() is the plain triple loop (double
// accumulation) the tests compare it with. Shapes: op(A) is m x k, op(B) is k x n, C is m x n;
// lda/ldb/ldc are the row strides of A, B, C as stored.
// Thread safety: both are reentrant. OpenBLAS runs single-threaded inside them (SetBlasThreads
// is called once by UseSingleThreadedBlas); parallelism is ours, over sequences.
#pragma once

namespace flywheel::nn {

void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);

void GemmReference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc);

// Makes OpenBLAS use one thread per call (idempotent); our callers parallelise across sequences.
void UseSingleThreadedBlas();

}  // namespace flywheel::nn
