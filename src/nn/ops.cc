#include "nn/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/gemm.h"
#include "nn/gemm_internal.h"
#include "nn/simd.h"

namespace flywheel::nn {

FLYWHEEL_NN_CLONES
void LayerNormForward(const float* x, const float* gamma, const float* beta, int rows, int cols,
                      float* y, float* mean, float* rstd) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (cols % 16 == 0 && internal::HaveAvx512()) {
    internal::LayerNormForwardAvx512(x, gamma, beta, rows, cols, kLayerNormEps, y, mean, rstd);
    return;
  }
#endif
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    float* yr = y + static_cast<int64_t>(r) * cols;
    const float mu = simd::Sum(xr, cols) * inv_n;
    const float rs = 1.0f / std::sqrt(simd::SquaredDeviation(xr, mu, cols) * inv_n + kLayerNormEps);
    for (int c = 0; c < cols; ++c) {
      yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

FLYWHEEL_NN_CLONES
void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, int rows, int cols, float* dx, float* dgamma,
                       float* dbeta) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (cols % 16 == 0 && internal::HaveAvx512()) {
    internal::LayerNormBackwardAvx512(x, gamma, mean, rstd, dy, rows, cols, dx, dgamma, dbeta);
    return;
  }
#endif
  const float inv_n = 1.0f / static_cast<float>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    const float* dyr = dy + static_cast<int64_t>(r) * cols;
    float* dxr = dx + static_cast<int64_t>(r) * cols;
    const float mu = mean[r];
    const float rs = rstd[r];
    float acc_g[simd::kLanes] = {};
    float acc_gx[simd::kLanes] = {};
    int c = 0;
    for (; c + simd::kLanes <= cols; c += simd::kLanes) {
      for (int j = 0; j < simd::kLanes; ++j) {
        const float xhat = (xr[c + j] - mu) * rs;
        const float g = dyr[c + j] * gamma[c + j];
        dgamma[c + j] += dyr[c + j] * xhat;
        dbeta[c + j] += dyr[c + j];
        acc_g[j] += g;
        acc_gx[j] += g * xhat;
      }
    }
    for (int j = 0; c < cols; ++c, ++j) {
      const float xhat = (xr[c] - mu) * rs;
      const float g = dyr[c] * gamma[c];
      dgamma[c] += dyr[c] * xhat;
      dbeta[c] += dyr[c];
      acc_g[j] += g;
      acc_gx[j] += g * xhat;
    }
    const float mean_g = inv_n * simd::Reduce(acc_g);
    const float mean_gx = inv_n * simd::Reduce(acc_gx);
    for (c = 0; c < cols; ++c) {
      const float xhat = (xr[c] - mu) * rs;
      dxr[c] = rs * (dyr[c] * gamma[c] - mean_g - xhat * mean_gx);
    }
  }
}

namespace {

// Softmax of one row in place (inlined into each clone of its callers).
inline void SoftmaxRow(float* xr, int cols) {
  const float mx = simd::Max(xr, cols);
  float acc[simd::kLanes] = {};
  int c = 0;
  for (; c + simd::kLanes <= cols; c += simd::kLanes) {
    for (int j = 0; j < simd::kLanes; ++j) {
      xr[c + j] = simd::Exp(xr[c + j] - mx);
      acc[j] += xr[c + j];
    }
  }
  for (int j = 0; c < cols; ++c, ++j) {
    xr[c] = simd::Exp(xr[c] - mx);
    acc[j] += xr[c];
  }
  const float inv = 1.0f / simd::Reduce(acc);
  for (c = 0; c < cols; ++c) {
    xr[c] *= inv;
  }
}

}  // namespace

FLYWHEEL_NN_CLONES
void SoftmaxRows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    SoftmaxRow(x + static_cast<int64_t>(r) * cols, cols);
  }
}

void SoftmaxBackward(const float* y, const float* dy, int rows, int cols, float* dx) {
  for (int r = 0; r < rows; ++r) {
    const int64_t o = static_cast<int64_t>(r) * cols;
    float dot = 0;
    for (int c = 0; c < cols; ++c) {
      dot += dy[o + c] * y[o + c];
    }
    for (int c = 0; c < cols; ++c) {
      dx[o + c] = y[o + c] * (dy[o + c] - dot);
    }
  }
}

FLYWHEEL_NN_CLONES
void ReluForward(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] > 0 ? x[i] : 0.0f;
  }
}

FLYWHEEL_NN_CLONES
void ReluBackward(const float* x, const float* dy, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = dy[i];  // loaded unconditionally: the select becomes a blend, not a branch
    dx[i] = x[i] > 0 ? g : 0.0f;
  }
}

namespace {
constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluA = 0.044715f;
}  // namespace

void GeluForward(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::tanh(kGeluC * (v + kGeluA * v * v * v)));
  }
}

void GeluBackward(const float* x, const float* dy, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float th = std::tanh(kGeluC * (v + kGeluA * v * v * v));
    const float dth = (1.0f - th * th) * kGeluC * (1.0f + 3.0f * kGeluA * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + th) + 0.5f * v * dth);
  }
}

namespace {

// Fills mask[0, n) (0 with probability p, else 1 / (1 - p)) from one draw of `rng`.
FLYWHEEL_NN_CLONES
void DropoutMask(int64_t n, float p, base::Rng* rng, float* mask) {
  // Keep when the element's 32 bits are >= p * 2^32.
  const auto threshold =
      static_cast<uint32_t>(std::min(4294967295.0, static_cast<double>(p) * 4294967296.0));
  const float keep_scale = 1.0f / (1.0f - p);
  const uint64_t key = rng->Next();
  const auto k0 = static_cast<uint32_t>(key);
  const auto k1 = static_cast<uint32_t>(key >> 32);
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = simd::MaskBits(k0, k1, static_cast<uint32_t>(i)) < threshold ? 0.0f : keep_scale;
  }
}

}  // namespace

FLYWHEEL_NN_CLONES
void DropoutForward(const float* x, int64_t n, float p, base::Rng* rng, float* mask, float* y) {
  if (p <= 0) {
    std::fill_n(mask, n, 1.0f);
    std::copy_n(x, n, y);
    return;
  }
  DropoutMask(n, p, rng, mask);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] * mask[i];
  }
}

FLYWHEEL_NN_CLONES
void DropoutResidualForward(const float* x, const float* residual, int64_t n, float p,
                            base::Rng* rng, float* mask, float* y) {
  if (p <= 0) {
    std::fill_n(mask, n, 1.0f);
    for (int64_t i = 0; i < n; ++i) {
      y[i] = residual[i] + x[i];
    }
    return;
  }
  DropoutMask(n, p, rng, mask);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = residual[i] + x[i] * mask[i];
  }
}

FLYWHEEL_NN_CLONES
void DropoutBackward(const float* mask, const float* dy, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = dy[i] * mask[i];
  }
}

FLYWHEEL_NN_CLONES
void AddInPlace(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] += x[i];
  }
}

FLYWHEEL_NN_CLONES
void PullTowards(const float* a, int64_t n, float keep, float* p) {
  for (int64_t i = 0; i < n; ++i) {
    p[i] = a[i] + keep * (p[i] - a[i]);
  }
}

FLYWHEEL_NN_CLONES
void ColumnSumAdd(const float* x, int rows, int cols, float* y) {
  // Four rows per pass over y: a quarter of the loads and stores of y (a chain through memory).
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* x0 = x + static_cast<int64_t>(r) * cols;
    const float* x1 = x0 + cols;
    const float* x2 = x1 + cols;
    const float* x3 = x2 + cols;
    for (int c = 0; c < cols; ++c) {
      y[c] += (x0[c] + x1[c]) + (x2[c] + x3[c]);
    }
  }
  for (; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      y[c] += xr[c];
    }
  }
}

FLYWHEEL_NN_CLONES
void Axpy(float a, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] += a * x[i];
  }
}

FLYWHEEL_NN_CLONES
float Dot(const float* x, const float* y, int n) {
  return simd::Dot(x, y, n);
}

void Gather(const float* table, int cols, const uint32_t* ids, int n, float* out) {
  for (int r = 0; r < n; ++r) {
    std::copy_n(table + static_cast<int64_t>(ids[r]) * cols, cols,
                out + static_cast<int64_t>(r) * cols);
  }
}

void ScatterAdd(const float* dout, int cols, const uint32_t* ids, int n, float* dtable) {
  for (int r = 0; r < n; ++r) {
    AddInPlace(dout + static_cast<int64_t>(r) * cols, cols,
               dtable + static_cast<int64_t>(ids[r]) * cols);
  }
}

double SoftmaxCrossEntropy(const float* logits, const uint32_t* targets, int rows, int cols,
                           float scale, float* dlogits) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    const int64_t o = static_cast<int64_t>(r) * cols;
    const float mx = *std::max_element(logits + o, logits + o + cols);
    double sum = 0;
    for (int c = 0; c < cols; ++c) {
      dlogits[o + c] = std::exp(logits[o + c] - mx);
      sum += dlogits[o + c];
    }
    loss += std::log(sum) + mx - logits[o + targets[r]];
    const float inv = static_cast<float>(scale / sum);
    for (int c = 0; c < cols; ++c) {
      dlogits[o + c] *= inv;
    }
    dlogits[o + targets[r]] -= scale;
  }
  return loss;
}

double SampledSoftmaxLoss(const float* pos, const float* neg, const float* pos_logq,
                          const float* neg_logq, const uint8_t* hit, int rows, int s, float scale,
                          float* dpos, float* dneg) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    const int64_t o = static_cast<int64_t>(r) * s;
    const float zp = pos[r] - pos_logq[r];
    float mx = zp;
    for (int j = 0; j < s; ++j) {
      if (hit == nullptr || hit[o + j] == 0) {
        mx = std::max(mx, neg[o + j] - neg_logq[o + j]);
      }
    }
    double sum = std::exp(zp - mx);
    for (int j = 0; j < s; ++j) {
      const bool live = hit == nullptr || hit[o + j] == 0;
      dneg[o + j] = live ? std::exp(neg[o + j] - neg_logq[o + j] - mx) : 0.0f;
      sum += dneg[o + j];
    }
    loss += std::log(sum) + mx - zp;
    const float inv = static_cast<float>(scale / sum);
    for (int j = 0; j < s; ++j) {
      dneg[o + j] *= inv;
    }
    dpos[r] = static_cast<float>(std::exp(zp - mx) * inv) - scale;
  }
  return loss;
}

namespace {
// -log sigmoid(x), stable.
double SoftplusNeg(float x) {
  return x > 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));
}
float Sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}
}  // namespace

double BceWithNegatives(const float* pos, const float* neg, int rows, int s, float scale,
                        float* dpos, float* dneg) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    loss += SoftplusNeg(pos[r]);
    dpos[r] = scale * (Sigmoid(pos[r]) - 1.0f);
    for (int j = 0; j < s; ++j) {
      const float v = neg[static_cast<int64_t>(r) * s + j];
      loss += SoftplusNeg(-v);
      dneg[static_cast<int64_t>(r) * s + j] = scale * Sigmoid(v);
    }
  }
  return loss;
}

namespace {

// Causal attention works on blocks of kAttnBlock query rows: block [r0, r1) only sees keys
// [0, r1), so the products skip the upper triangle above the block diagonal (about a third of
// the attention FLOPs at t = 50).
constexpr int kAttnBlock = 16;

// A per-thread buffer for a transposed key or value matrix (dh x t).
float* TransposeBuffer(size_t n) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < n) {
    buffer.resize(n);
  }
  return buffer.data();
}

// Rows [r0, r1) of t x t scores: softmax of row i over columns j <= i, zero above. The row is
// padded to a multiple of 16 columns (within t) with -1e30 so that the vector loops need no
// scalar tail: exp() of the padding is ~1e-38, which leaves the sum of a row (>= 1) unchanged,
// and the padding is zeroed afterwards.
FLYWHEEL_NN_CLONES
void CausalSoftmax(int r0, int r1, int t, float* p) {
#if FLYWHEEL_NN_HAVE_AVX512_KERNEL
  if (internal::HaveAvx512()) {
    internal::CausalSoftmaxAvx512(r0, r1, t, p);
    return;
  }
#endif
  for (int i = r0; i < r1; ++i) {
    float* row = p + static_cast<int64_t>(i) * t;
    const int len = i + 1;
    const int padded = std::min(t, (len + simd::kLanes - 1) / simd::kLanes * simd::kLanes);
    std::fill(row + len, row + padded, -1e30f);
    SoftmaxRow(row, padded);
    std::fill(row + len, row + t, 0.0f);
  }
}

// Rows [r0, r1) of t x t: ds = p * (dp - sum_{j <= i} dp * p) * scale on j <= i, 0 above the
// diagonal (ds holds dp on entry).
FLYWHEEL_NN_CLONES
void CausalSoftmaxGrad(const float* p, int r0, int r1, int t, float scale, float* ds) {
  for (int i = r0; i < r1; ++i) {
    const int64_t o = static_cast<int64_t>(i) * t;
    // Padded as in CausalSoftmax: p is 0 above the diagonal and ds finite there (written by the
    // dP product up to r1), so the extra terms add exact zeros.
    const int len = i + 1;
    const int padded = std::min(r1, (len + simd::kLanes - 1) / simd::kLanes * simd::kLanes);
    const float dot = simd::Dot(ds + o, p + o, padded);
    for (int j = 0; j < padded; ++j) {
      ds[o + j] = p[o + j] * (ds[o + j] - dot) * scale;
    }
    std::fill(ds + o + len, ds + o + t, 0.0f);
  }
}

}  // namespace

void CausalAttentionForward(const float* qkv, int t, int d, int heads, float* probs, float* out) {
  const int dh = d / heads;
  const int64_t dd = d;
  const int ld = 3 * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  float* kt = TransposeBuffer(static_cast<size_t>(dh) * t);
  for (int h = 0; h < heads; ++h) {
    float* p = probs + static_cast<int64_t>(h) * t * t;
    const float* q = qkv + static_cast<int64_t>(h) * dh;
    const float* k = qkv + dd + static_cast<int64_t>(h) * dh;
    const float* v = qkv + 2 * dd + static_cast<int64_t>(h) * dh;
    float* o = out + static_cast<int64_t>(h) * dh;
    Transpose(k, t, dh, ld, kt);  // dh x t
    for (int r0 = 0; r0 < t; r0 += kAttnBlock) {
      const int r1 = std::min(t, r0 + kAttnBlock);
      float* pb = p + static_cast<int64_t>(r0) * t;
      // S[r0:r1, 0:r1] = scale * Q K^T; softmax over j <= i; zero above the diagonal.
      Gemm(false, false, r1 - r0, r1, dh, scale, q + static_cast<int64_t>(r0) * ld, ld, kt, t, 0.0f,
           pb, t);
      CausalSoftmax(r0, r1, t, p);
      // O[r0:r1] = P[r0:r1, 0:r1] V[0:r1].
      Gemm(false, false, r1 - r0, dh, r1, 1.0f, pb, t, v, ld, 0.0f,
           o + static_cast<int64_t>(r0) * d, d);
    }
  }
}

void CausalAttentionBackward(const float* qkv, const float* probs, const float* dout, int t, int d,
                             int heads, float* scratch, float* dqkv) {
  const int dh = d / heads;
  const int64_t dd = d;
  const int ld = 3 * d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  float* vt = TransposeBuffer(static_cast<size_t>(dh) * t);
  for (int h = 0; h < heads; ++h) {
    const float* p = probs + static_cast<int64_t>(h) * t * t;
    const float* q = qkv + static_cast<int64_t>(h) * dh;
    const float* k = qkv + dd + static_cast<int64_t>(h) * dh;
    const float* v = qkv + 2 * dd + static_cast<int64_t>(h) * dh;
    const float* dout_h = dout + static_cast<int64_t>(h) * dh;
    float* dq = dqkv + static_cast<int64_t>(h) * dh;
    float* dk = dqkv + dd + static_cast<int64_t>(h) * dh;
    float* dv = dqkv + 2 * dd + static_cast<int64_t>(h) * dh;
    Transpose(v, t, dh, ld, vt);  // dh x t
    for (int r0 = 0; r0 < t; r0 += kAttnBlock) {
      const int r1 = std::min(t, r0 + kAttnBlock);
      const int64_t o0 = static_cast<int64_t>(r0) * t;
      // dV[r0:r1] = P[r0:t, r0:r1]^T dO[r0:t] (P is zero above the diagonal).
      Gemm(true, false, r1 - r0, dh, t - r0, 1.0f, p + o0 + r0, t,
           dout_h + static_cast<int64_t>(r0) * d, d, 0.0f, dv + static_cast<int64_t>(r0) * ld, ld);
      // dP[r0:r1, 0:r1] = dO[r0:r1] V[0:r1]^T; dS = P * (dP - rowsum(dP * P)) * scale.
      Gemm(false, false, r1 - r0, r1, dh, 1.0f, dout_h + static_cast<int64_t>(r0) * d, d, vt, t,
           0.0f, scratch + o0, t);
      CausalSoftmaxGrad(p, r0, r1, t, scale, scratch);
    }
    for (int r0 = 0; r0 < t; r0 += kAttnBlock) {
      const int r1 = std::min(t, r0 + kAttnBlock);
      const int64_t o0 = static_cast<int64_t>(r0) * t;
      // dQ[r0:r1] = dS[r0:r1, 0:r1] K[0:r1]; dK[r0:r1] = dS[r0:t, r0:r1]^T Q[r0:t].
      Gemm(false, false, r1 - r0, dh, r1, 1.0f, scratch + o0, t, k, ld, 0.0f,
           dq + static_cast<int64_t>(r0) * ld, ld);
      Gemm(true, false, r1 - r0, dh, t - r0, 1.0f, scratch + o0 + r0, t,
           q + static_cast<int64_t>(r0) * ld, ld, 0.0f, dk + static_cast<int64_t>(r0) * ld, ld);
    }
  }
}

}  // namespace flywheel::nn
