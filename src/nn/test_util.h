// Test helpers for the nn module: random tensors and finite-difference gradient checks.
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "base/random.h"

namespace flywheel::nn::testing {

inline std::vector<float> RandomVector(size_t n, base::Rng* rng, double std = 1.0) {
  std::vector<float> v(n);
  for (float& x : v) {
    x = static_cast<float>(rng->Normal() * std);
  }
  return v;
}

// Largest error between the analytic gradient `grad` of f at `x` and central differences (step
// eps) over every element: |numeric - analytic| / max(floor, |numeric|), so that gradients
// smaller than `floor` are compared absolutely. f is evaluated in float and summed in double.
inline double MaxGradError(const std::function<double()>& f, std::vector<float>* x,
                           const std::vector<float>& grad, float eps, double floor = 1e-2) {
  double worst = 0;
  for (size_t i = 0; i < x->size(); ++i) {
    const float saved = (*x)[i];
    (*x)[i] = saved + eps;
    const double up = f();
    (*x)[i] = saved - eps;
    const double down = f();
    (*x)[i] = saved;
    const double numeric = (up - down) / (2.0 * eps);
    const double err = std::abs(numeric - grad[i]) / std::max(floor, std::abs(numeric));
    worst = std::max(worst, err);
  }
  return worst;
}

// Weighted sum sum_i w[i] * y[i]: turns a vector output into a scalar loss with dy = w.
inline double Dot(const std::vector<float>& w, const std::vector<float>& y) {
  double s = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    s += static_cast<double>(w[i]) * y[i];
  }
  return s;
}

}  // namespace flywheel::nn::testing
