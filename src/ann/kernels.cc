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

}  // namespace flywheel::ann
