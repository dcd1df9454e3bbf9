// Private to src/nn: the AVX-512 kernels behind Gemm() (gemm_avx512.cc), the layer norm and the
// causal softmax (ops_avx512.cc).
#pragma once

#if defined(__GNUC__) && defined(__x86_64__)
#define FLYWHEEL_NN_HAVE_AVX512_KERNEL 1
#else
#define FLYWHEEL_NN_HAVE_AVX512_KERNEL 0
#endif

namespace flywheel::nn::internal {

#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
// Same contract as Gemm(), plus bias (nullable, n floats) added to every row of C; REQUIRES:
// HaveAvx512(). Register-blocked 6 x 64 tiles of C, op(B) as
// a dense panel (transposed into a per-thread buffer when trans_b), reduction blocked by 256,
// no packing of A (rows, or with trans_a columns, read in place).
void GemmAvx512(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                int lda, const float* b, int ldb, float beta, const float* bias, float* c, int ldc);
// out (cols x rows, dense) = the transpose of b (rows x cols, row stride ldb); REQUIRES:
// HaveAvx512(). 8 x 8 blocks in registers.
void TransposeAvx512(const float* b, int rows, int cols, int ldb, float* out);
// LayerNormForward / LayerNormBackward (ops.h) for cols % 16 == 0; REQUIRES: HaveAvx512().
void LayerNormForwardAvx512(const float* x, const float* gamma, const float* beta, int rows,
                            int cols, float eps, float* y, float* mean, float* rstd);
void LayerNormBackwardAvx512(const float* x, const float* gamma, const float* mean,
                             const float* rstd, const float* dy, int rows, int cols, float* dx,
                             float* dgamma, float* dbeta);
// Rows [r0, r1) of t x t attention scores p: softmax of row i over columns j <= i, zero above
// the diagonal (the CausalSoftmax of ops.cc); REQUIRES: HaveAvx512().
void CausalSoftmaxAvx512(int r0, int r1, int t, float* p);
// Whether this CPU runs AVX-512F.
bool HaveAvx512();
#endif

}  // namespace flywheel::nn::internal
