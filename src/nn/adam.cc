#include "nn/adam.h"

#include <cmath>

namespace flywheel::nn {

bool AllFinite(std::span<const float> values) {
  float acc = 0.0f;
  for (float x : values) {
    acc += x * 0.0f;  // NaN for NaN or infinity, 0 otherwise; vectorises without branches
  }
  return acc == 0.0f;
}

namespace {

void Update(const AdamOptions& o, float lr_t, const float* g, float* p, float* m, float* v,
            int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + o.weight_decay * p[i];
    m[i] = o.beta1 * m[i] + (1.0f - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1.0f - o.beta2) * gi * gi;
    p[i] -= lr_t * m[i] / (std::sqrt(v[i]) + o.eps);
  }
}

float StepSize(const AdamOptions& o, int64_t step) {
  const double b1 = 1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(step));
  const double b2 = 1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(step));
  return static_cast<float>(o.lr * std::sqrt(b2) / b1);
}

}  // namespace

void AdamStep(const AdamOptions& options, int64_t step, std::span<const float> grad,
              std::span<float> param, std::span<float> m, std::span<float> v) {
  Update(options, StepSize(options, step), grad.data(), param.data(), m.data(), v.data(),
         static_cast<int64_t>(grad.size()));
}

void AdamStepRows(const AdamOptions& options, int64_t step, int cols,
                  std::span<const uint32_t> rows, std::span<const float> grad,
                  std::span<float> param, std::span<float> m, std::span<float> v) {
  const float lr_t = StepSize(options, step);
  for (uint32_t r : rows) {
    const int64_t o = static_cast<int64_t>(r) * cols;
    Update(options, lr_t, grad.data() + o, param.data() + o, m.data() + o, v.data() + o, cols);
  }
}

void SgdStep(float lr, float weight_decay, std::span<const float> grad, std::span<float> param) {
  const size_t n = param.size();
  for (size_t i = 0; i < n; ++i) {
    param[i] -= lr * (grad[i] + weight_decay * param[i]);
  }
}

void SgdStepRows(float lr, float weight_decay, int cols, std::span<const uint32_t> rows,
                 std::span<const float> grad, std::span<float> param) {
  for (uint32_t row : rows) {
    const size_t base = static_cast<size_t>(row) * static_cast<size_t>(cols);
    SgdStep(lr, weight_decay, grad.subspan(base, static_cast<size_t>(cols)),
            param.subspan(base, static_cast<size_t>(cols)));
  }
}

}  // namespace flywheel::nn
