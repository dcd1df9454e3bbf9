// GEMM for the nn module: C = alpha * op(A) * op(B) + beta * C on row-major float32 matrices,
// op(X) = X or X^T. Gemm() runs our direct AVX-512 kernel (gemm_avx512.cc: no packing, 6 x 64
// register tiles; on SASRec's shapes, where k or n is 64, it beats OpenBLAS, which spends much of
// its time packing) when the CPU has AVX-512F, m > 1 and not both m and n > 512; otherwise
// GemmOpenBlas(): OpenBLAS (cblas_sgemm, sgemv for m == 1; chosen over Eigen 3.4, numbers in
// doc/nn.md). The choice depends only on the CPU and the shape, so results are deterministic on a
// machine. GemmReference() is the plain triple loop (double accumulation) the tests compare both
// with. Shapes: op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are the row strides of A,
// B, C as stored. Thread safety: both are reentrant. OpenBLAS runs single-threaded inside them
// (SetBlasThreads is called once by UseSingleThreadedBlas); parallelism is ours, over sequences.
#pragma once

namespace flywheel::nn {

void Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);

// C (m x n) = A (m x k) B (k x n) + bias (n floats, added to every row); A, B, C dense
// (lda = k, ldb = ldc = n). The bias is added in the kernel's store (no separate pass).
void GemmBias(int m, int n, int k, const float* a, const float* b, const float* bias, float* c);

// out (cols x rows, dense) = A^T, A rows x cols with row stride lda.
void Transpose(const float* a, int rows, int cols, int lda, float* out);

void GemmOpenBlas(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc);

void GemmReference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc);

// Makes OpenBLAS use one thread per call (idempotent); our callers parallelise across sequences.
void UseSingleThreadedBlas();

}  // namespace flywheel::nn
