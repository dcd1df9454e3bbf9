#include "ann/kernels.h"

#include "base/dot.h"

namespace flywheel::ann {

void PanelDot(const float* __restrict panel, const float* __restrict query, size_t dim,
              float* __restrict scores) {
  float acc[kPanel] = {};
  for (size_t k = 0; k < dim; ++k) {
    const float q = query[k];
    for (size_t j = 0; j < kPanel; ++j) {
      acc[j] += q * panel[k * kPanel + j];
    }
  }
  for (size_t j = 0; j < kPanel; ++j) {
    scores[j] = acc[j];
  }
}

float RowDot(const float* a, const float* b, size_t dim) {
  return base::Dot(a, b, dim);
}

float LaneDot(const float* a, const float* b, size_t dim) {
  float acc[kPanel] = {};
  size_t k = 0;
  for (; k + kPanel <= dim; k += kPanel) {
    for (size_t j = 0; j < kPanel; ++j) {
      acc[j] += a[k + j] * b[k + j];
    }
  }
  for (size_t j = 0; k < dim; ++k, ++j) {
    acc[j] += a[k] * b[k];
  }
  float sum = 0.0f;
  for (const float lane : acc) {
    sum += lane;
  }
  return sum;
}

}  // namespace flywheel::ann
