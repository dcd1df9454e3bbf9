#include "nn/adam.h"

#include <cmath>

#include "nn/simd.h"

namespace flywheel::nn {

FLYWHEEL_NN_CLONES
bool AllFinite(std::span<const float> values) {
  // x * 0 is NaN for NaN or infinity, 0 otherwise; 16 partial sums vectorise without branches.
  float acc[simd::kLanes] = {};
  const float* x = values.data();
  const auto n = static_cast<int64_t>(values.size());
  int64_t i = 0;
  for (; i + simd::kLanes <= n; i += simd::kLanes) {
    for (int j = 0; j < simd::kLanes; ++j) {
      acc[j] += x[i + j] * 0.0f;
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    acc[j] += x[i] * 0.0f;
  }
  return simd::Reduce(acc) == 0.0f;
}

namespace {

FLYWHEEL_NN_CLONES
void Update(const AdamOptions& o, float lr_t, const float* g, float* p, float* m, float* v,
            int64_t n) {
  // Locals: `o` could alias the arrays as far as the compiler knows, which would block
  // vectorisation.
  const float wd = o.weight_decay, b1 = o.beta1, b2 = o.beta2, eps = o.eps;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd * p[i];
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    p[i] -= lr_t * m[i] / (std::sqrt(v[i]) + eps);
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
