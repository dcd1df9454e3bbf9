// Direct AVX-512 GEMM for the small-k / narrow shapes of the sequence models (see gemm.h).
// Compiled for AVX-512F with a function attribute (the project builds without -march); Gemm()
// calls it only when the CPU has AVX-512F.
#include "nn/gemm_internal.h"

#if FLYWHEEL_NN_HAVE_AVX512_KERNEL

#include <algorithm>
#include <cstdint>
#include <vector>

#include <immintrin.h>

#define FLYWHEEL_AVX512 __attribute__((target("avx512f,fma")))

namespace flywheel::nn::internal {
namespace {

constexpr int kMr = 6;    // rows of C per micro-tile
constexpr int kNv = 4;    // 16-float vectors of C per micro-tile row (64 columns)
constexpr int kKc = 256;  // reduction block: a 256 x 64 panel of B stays in L2

// C (MR x up to 16 * NV, the last vector masked by `tail`) = alpha * sum_p A(i, p) B(p, j) +
// beta * C, p in [0, kc). A(i, p) = a[i * sa + p * sp] (row or column access); B is a dense
// panel with row stride ldb. The accumulators are named variables (GCC keeps an array of vectors
// in memory), the unused ones removed by `if constexpr`.
#define FLYWHEEL_ROW_FMA(I)                               \
  if constexpr (MR > (I)) {                               \
    const __m512 av = _mm512_set1_ps(a[(I)*sa + p * sp]); \
    c##I##0 = _mm512_fmadd_ps(av, b0, c##I##0);           \
    if constexpr (NV > 1)                                 \
      c##I##1 = _mm512_fmadd_ps(av, b1, c##I##1);         \
    if constexpr (NV > 2)                                 \
      c##I##2 = _mm512_fmadd_ps(av, b2, c##I##2);         \
    if constexpr (NV > 3)                                 \
      c##I##3 = _mm512_fmadd_ps(av, b3, c##I##3);         \
  }
#define FLYWHEEL_ROW_STORE(I)                                                            \
  if constexpr (MR > (I)) {                                                              \
    Store<NV>(c + (I)*ldc, alpha, beta, bias, tail, c##I##0, c##I##1, c##I##2, c##I##3); \
  }

template <int NV>
FLYWHEEL_AVX512 inline void Store(float* c, float alpha, float beta, const float* bias,
                                  __mmask16 tail, __m512 r0, __m512 r1, __m512 r2, __m512 r3) {
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __m512 r[4] = {r0, r1, r2, r3};
  for (int v = 0; v < NV; ++v) {
    const __mmask16 m = v + 1 < NV ? static_cast<__mmask16>(0xFFFF) : tail;
    const int64_t at = static_cast<int64_t>(v) * 16;
    __m512 x = _mm512_mul_ps(va, r[v]);
    if (beta != 0.0f) {
      x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + at), x);
    }
    if (bias != nullptr) {
      x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, bias + at));
    }
    _mm512_mask_storeu_ps(c + at, m, x);
  }
}

template <int MR, int NV>
FLYWHEEL_AVX512 inline void MicroTile(int kc, const float* a, int64_t sa, int64_t sp,
                                      const float* b, int64_t ldb, float alpha, float beta,
                                      const float* bias, float* c, int64_t ldc, __mmask16 tail) {
  const __m512 z = _mm512_setzero_ps();
  __m512 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
  __m512 c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
  __m512 c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
  const __mmask16 m0 = NV == 1 ? tail : static_cast<__mmask16>(0xFFFF);
  const __mmask16 m1 = NV == 2 ? tail : static_cast<__mmask16>(0xFFFF);
  const __mmask16 m2 = NV == 3 ? tail : static_cast<__mmask16>(0xFFFF);
  for (int p = 0; p < kc; ++p) {
    const float* bp = b + p * ldb;
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp);
    const __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(m1, bp + 16) : z;
    const __m512 b2 = NV > 2 ? _mm512_maskz_loadu_ps(m2, bp + 32) : z;
    const __m512 b3 = NV > 3 ? _mm512_maskz_loadu_ps(tail, bp + 48) : z;
    FLYWHEEL_ROW_FMA(0)
    FLYWHEEL_ROW_FMA(1)
    FLYWHEEL_ROW_FMA(2)
    FLYWHEEL_ROW_FMA(3)
    FLYWHEEL_ROW_FMA(4)
    FLYWHEEL_ROW_FMA(5)
  }
  FLYWHEEL_ROW_STORE(0)
  FLYWHEEL_ROW_STORE(1)
  FLYWHEEL_ROW_STORE(2)
  FLYWHEEL_ROW_STORE(3)
  FLYWHEEL_ROW_STORE(4)
  FLYWHEEL_ROW_STORE(5)
}
#undef FLYWHEEL_ROW_FMA
#undef FLYWHEEL_ROW_STORE

template <int NV>
FLYWHEEL_AVX512 void RowBlock(int mr, int kc, const float* a, int64_t sa, int64_t sp,
                              const float* b, int64_t ldb, float alpha, float beta,
                              const float* bias, float* c, int64_t ldc, __mmask16 tail) {
  switch (mr) {
    case 6:
      MicroTile<6, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
    case 5:
      MicroTile<5, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
    case 4:
      MicroTile<4, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
    case 3:
      MicroTile<3, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
    case 2:
      MicroTile<2, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
    default:
      MicroTile<1, NV>(kc, a, sa, sp, b, ldb, alpha, beta, bias, c, ldc, tail);
      break;
  }
}

// One reduction block: C = alpha * op(A)[:, p0:p0+kc] Bpanel + beta * C for all of C.
FLYWHEEL_AVX512 void Block(int m, int n, int kc, const float* a, int64_t sa, int64_t sp,
                           const float* b, int64_t ldb, float alpha, float beta, const float* bias,
                           float* c, int64_t ldc) {
  for (int j = 0; j < n; j += 16 * kNv) {
    const int cols = std::min(16 * kNv, n - j);
    const int nv = (cols + 15) / 16;
    const int rem = cols - 16 * (nv - 1);
    const auto tail = static_cast<__mmask16>((1u << rem) - 1u);
    for (int i = 0; i < m; i += kMr) {
      const int mr = std::min(kMr, m - i);
      const float* ai = a + i * sa;
      float* cij = c + i * ldc + j;
      const float* bj = bias == nullptr ? nullptr : bias + j;
      switch (nv) {
        case 4:
          RowBlock<4>(mr, kc, ai, sa, sp, b + j, ldb, alpha, beta, bj, cij, ldc, tail);
          break;
        case 3:
          RowBlock<3>(mr, kc, ai, sa, sp, b + j, ldb, alpha, beta, bj, cij, ldc, tail);
          break;
        case 2:
          RowBlock<2>(mr, kc, ai, sa, sp, b + j, ldb, alpha, beta, bj, cij, ldc, tail);
          break;
        default:
          RowBlock<1>(mr, kc, ai, sa, sp, b + j, ldb, alpha, beta, bj, cij, ldc, tail);
          break;
      }
    }
  }
}

// out (8 x 8, row stride ldo) = the transpose of the 8 x 8 block at b (row stride ldb).
FLYWHEEL_AVX512 inline void Transpose8x8(const float* b, int64_t ldb, float* out, int64_t ldo) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm256_loadu_ps(b + i * ldb);
  }
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 u[8];
  for (int h = 0; h < 8; h += 4) {
    u[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * ldo, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * ldo, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}

}  // namespace

FLYWHEEL_AVX512 void TransposeAvx512(const float* b, int rows, int cols, int ldb, float* out) {
  int j = 0;
  for (; j + 8 <= rows; j += 8) {
    int p = 0;
    for (; p + 8 <= cols; p += 8) {
      Transpose8x8(b + static_cast<int64_t>(j) * ldb + p, ldb,
                   out + static_cast<int64_t>(p) * rows + j, rows);
    }
    for (; p < cols; ++p) {
      for (int jj = j; jj < j + 8; ++jj) {
        out[static_cast<int64_t>(p) * rows + jj] = b[static_cast<int64_t>(jj) * ldb + p];
      }
    }
  }
  for (; j < rows; ++j) {
    for (int p = 0; p < cols; ++p) {
      out[static_cast<int64_t>(p) * rows + j] = b[static_cast<int64_t>(j) * ldb + p];
    }
  }
}

void GemmAvx512(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                int lda, const float* b, int ldb, float beta, const float* bias, float* c,
                int ldc) {
  // op(B) as a dense k x n panel: B itself, or its transpose copied into a per-thread buffer.
  thread_local std::vector<float> bt;
  const float* panel = b;
  int64_t ldp = ldb;
  if (trans_b) {
    bt.resize(static_cast<size_t>(k) * n);
    TransposeAvx512(b, n, k, ldb, bt.data());
    panel = bt.data();
    ldp = n;
  }
  const int64_t sa = trans_a ? 1 : lda;  // stride between rows i of op(A)
  const int64_t sp = trans_a ? lda : 1;  // stride along the reduction
  if (k == 0) {
    Block(m, n, 0, a, sa, sp, panel, ldp, alpha, beta, bias, c, ldc);
    return;
  }
  for (int p0 = 0; p0 < k; p0 += kKc) {
    const int kc = std::min(kKc, k - p0);
    const bool first = p0 == 0;
    Block(m, n, kc, a + p0 * sp, sa, sp, panel + p0 * ldp, ldp, alpha, first ? beta : 1.0f,
          first ? bias : nullptr, c, ldc);
  }
}

bool HaveAvx512() {
  static const bool kHave = __builtin_cpu_supports("avx512f") != 0;
  return kHave;
}

}  // namespace flywheel::nn::internal

#endif  // FLYWHEEL_NN_HAVE_AVX512_KERNEL
