#include "nn/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nn/gemm.h"

namespace flywheel::nn {

void LayerNormForward(const float* x, const float* gamma, const float* beta, int rows, int cols,
                      float* y, float* mean, float* rstd) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    float* yr = y + static_cast<int64_t>(r) * cols;
    float sum = 0;
    for (int c = 0; c < cols; ++c) {
      sum += xr[c];
    }
    const float mu = sum / static_cast<float>(cols);
    float var = 0;
    for (int c = 0; c < cols; ++c) {
      var += (xr[c] - mu) * (xr[c] - mu);
    }
    const float rs = 1.0f / std::sqrt(var / static_cast<float>(cols) + kLayerNormEps);
    for (int c = 0; c < cols; ++c) {
      yr[c] = (xr[c] - mu) * rs * gamma[c] + beta[c];
    }
    mean[r] = mu;
    rstd[r] = rs;
  }
}

void LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, int rows, int cols, float* dx, float* dgamma,
                       float* dbeta) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * cols;
    const float* dyr = dy + static_cast<int64_t>(r) * cols;
    float* dxr = dx + static_cast<int64_t>(r) * cols;
    float sum_g = 0;
    float sum_gx = 0;
    for (int c = 0; c < cols; ++c) {
      const float xhat = (xr[c] - mean[r]) * rstd[r];
      const float g = dyr[c] * gamma[c];
      dgamma[c] += dyr[c] * xhat;
      dbeta[c] += dyr[c];
      sum_g += g;
      sum_gx += g * xhat;
    }
    const float inv_n = 1.0f / static_cast<float>(cols);
    for (int c = 0; c < cols; ++c) {
      const float xhat = (xr[c] - mean[r]) * rstd[r];
      dxr[c] = rstd[r] * (dyr[c] * gamma[c] - inv_n * sum_g - xhat * inv_n * sum_gx);
    }
  }
}

void SoftmaxRows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<int64_t>(r) * cols;
    const float mx = *std::max_element(xr, xr + cols);
    float sum = 0;
    for (int c = 0; c < cols; ++c) {
      xr[c] = std::exp(xr[c] - mx);
      sum += xr[c];
    }
    const float inv = 1.0f / sum;
    for (int c = 0; c < cols; ++c) {
      xr[c] *= inv;
    }
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

void ReluForward(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[i] > 0 ? x[i] : 0.0f;
  }
}

void ReluBackward(const float* x, const float* dy, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = x[i] > 0 ? dy[i] : 0.0f;
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

void DropoutForward(const float* x, int64_t n, float p, base::Rng* rng, float* mask, float* y) {
  if (p <= 0) {
    std::fill_n(mask, n, 1.0f);
    std::copy_n(x, n, y);
    return;
  }
  // Two 32-bit uniforms per 64-bit draw; keep when the draw is >= p * 2^32.
  const auto threshold = static_cast<uint64_t>(static_cast<double>(p) * 4294967296.0);
  const float keep_scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t bits = rng->Next();
    mask[i] = (bits & 0xFFFFFFFFULL) < threshold ? 0.0f : keep_scale;
    y[i] = x[i] * mask[i];
    if (i + 1 < n) {
      mask[i + 1] = (bits >> 32) < threshold ? 0.0f : keep_scale;
      y[i + 1] = x[i + 1] * mask[i + 1];
    }
  }
}

void DropoutBackward(const float* mask, const float* dy, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    dx[i] = dy[i] * mask[i];
  }
}

void AddInPlace(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    y[i] += x[i];
  }
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

void CausalAttentionForward(const float* qkv, int t, int d, int heads, float* probs, float* out) {
  const int dh = d / heads;
  const int64_t dd = d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int h = 0; h < heads; ++h) {
    float* p = probs + static_cast<int64_t>(h) * t * t;
    const float* q = qkv + static_cast<int64_t>(h) * dh;
    const float* k = qkv + dd + static_cast<int64_t>(h) * dh;
    const float* v = qkv + 2 * dd + static_cast<int64_t>(h) * dh;
    Gemm(false, true, t, t, dh, scale, q, 3 * d, k, 3 * d, 0.0f, p, t);
    for (int i = 0; i < t; ++i) {
      float* row = p + static_cast<int64_t>(i) * t;
      SoftmaxRows(row, 1, i + 1);
      std::fill(row + i + 1, row + t, 0.0f);
    }
    Gemm(false, false, t, dh, t, 1.0f, p, t, v, 3 * d, 0.0f, out + static_cast<int64_t>(h) * dh, d);
  }
}

void CausalAttentionBackward(const float* qkv, const float* probs, const float* dout, int t, int d,
                             int heads, float* scratch, float* dqkv) {
  const int dh = d / heads;
  const int64_t dd = d;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int h = 0; h < heads; ++h) {
    const float* p = probs + static_cast<int64_t>(h) * t * t;
    const float* q = qkv + static_cast<int64_t>(h) * dh;
    const float* k = qkv + dd + static_cast<int64_t>(h) * dh;
    const float* v = qkv + 2 * dd + static_cast<int64_t>(h) * dh;
    const float* dout_h = dout + static_cast<int64_t>(h) * dh;
    // dV = P^T dO; dP = dO V^T; dS = P * (dP - rowsum(dP * P)) * scale.
    Gemm(true, false, t, dh, t, 1.0f, p, t, dout_h, d, 0.0f,
         dqkv + 2 * dd + static_cast<int64_t>(h) * dh, 3 * d);
    Gemm(false, true, t, t, dh, 1.0f, dout_h, d, v, 3 * d, 0.0f, scratch, t);
    for (int i = 0; i < t; ++i) {
      const int64_t o = static_cast<int64_t>(i) * t;
      float dot = 0;
      for (int j = 0; j <= i; ++j) {
        dot += scratch[o + j] * p[o + j];
      }
      for (int j = 0; j <= i; ++j) {
        scratch[o + j] = p[o + j] * (scratch[o + j] - dot) * scale;
      }
      std::fill(scratch + o + i + 1, scratch + o + t, 0.0f);
    }
    // dQ = dS K; dK = dS^T Q.
    Gemm(false, false, t, dh, t, 1.0f, scratch, t, k, 3 * d, 0.0f,
         dqkv + static_cast<int64_t>(h) * dh, 3 * d);
    Gemm(true, false, t, dh, t, 1.0f, scratch, t, q, 3 * d, 0.0f,
         dqkv + dd + static_cast<int64_t>(h) * dh, 3 * d);
  }
}

}  // namespace flywheel::nn
