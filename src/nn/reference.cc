#include "nn/reference.h"

#include <cmath>
#include <vector>

namespace flywheel::nn::reference {

void LayerNorm(const float* x, const float* gamma, const float* beta, int rows, int cols,
               float* y) {
  for (int r = 0; r < rows; ++r) {
    double mean = 0;
    for (int c = 0; c < cols; ++c) {
      mean += x[r * cols + c];
    }
    mean /= cols;
    double var = 0;
    for (int c = 0; c < cols; ++c) {
      var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    }
    var /= cols;
    for (int c = 0; c < cols; ++c) {
      y[r * cols + c] =
          static_cast<float>((x[r * cols + c] - mean) / std::sqrt(var + 1e-5) * gamma[c] + beta[c]);
    }
  }
}

void Softmax(const float* x, int rows, int cols, float* y) {
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int c = 0; c < cols; ++c) {
      sum += std::exp(static_cast<double>(x[r * cols + c]));
    }
    for (int c = 0; c < cols; ++c) {
      y[r * cols + c] = static_cast<float>(std::exp(static_cast<double>(x[r * cols + c])) / sum);
    }
  }
}

void Gelu(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = static_cast<float>(0.5 * v *
                              (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
  }
}

double SoftmaxCrossEntropy(const float* logits, const uint32_t* targets, int rows, int cols) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int c = 0; c < cols; ++c) {
      sum += std::exp(static_cast<double>(logits[r * cols + c]));
    }
    loss -= std::log(std::exp(static_cast<double>(logits[r * cols + targets[r]])) / sum);
  }
  return loss;
}

double SampledSoftmaxLoss(const float* pos, const float* neg, const float* pos_logq,
                          const float* neg_logq, const uint8_t* hit, int rows, int s) {
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    const double zp = static_cast<double>(pos[r]) - pos_logq[r];
    double sum = std::exp(zp);
    for (int j = 0; j < s; ++j) {
      if (hit == nullptr || hit[r * s + j] == 0) {
        sum += std::exp(static_cast<double>(neg[r * s + j]) - neg_logq[r * s + j]);
      }
    }
    loss -= std::log(std::exp(zp) / sum);
  }
  return loss;
}

double BceWithNegatives(const float* pos, const float* neg, int rows, int s) {
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    loss -= std::log(sigmoid(pos[r]));
    for (int j = 0; j < s; ++j) {
      loss -= std::log(1 - sigmoid(neg[r * s + j]));
    }
  }
  return loss;
}

void CausalAttention(const float* qkv, int t, int d, int heads, float* out) {
  const int dh = d / heads;
  std::vector<double> w(t);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < t; ++i) {
      double sum = 0;
      for (int j = 0; j <= i; ++j) {
        double dot = 0;
        for (int c = 0; c < dh; ++c) {
          dot += static_cast<double>(qkv[i * 3 * d + h * dh + c]) * qkv[j * 3 * d + d + h * dh + c];
        }
        w[j] = std::exp(dot / std::sqrt(static_cast<double>(dh)));
        sum += w[j];
      }
      for (int c = 0; c < dh; ++c) {
        double acc = 0;
        for (int j = 0; j <= i; ++j) {
          acc += w[j] / sum * qkv[j * 3 * d + 2 * d + h * dh + c];
        }
        out[i * d + h * dh + c] = static_cast<float>(acc);
      }
    }
  }
}

}  // namespace flywheel::nn::reference
