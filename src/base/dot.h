// The inner product every scoring path uses (model scores, the engine's serving stages, the
// ANN indexes' exact scores): components summed in index order into one float accumulator, so
// the same two vectors give the same bits wherever they are scored, and a score is reproducible
// from its vectors alone. Inline: GCC vectorises the multiplies and keeps the in-order sum
// (no -ffast-math).
//
// Two kernels deliberately differ in their summation order: src/nn's 16-lane Dot (simd.h, the
// transformer's training kernel, vectorised reductions) and src/ann's LaneDot (the HNSW graph
// distance). They are not used to report scores.
#pragma once

#include <cstddef>

namespace flywheel::base {

inline float Dot(const float* a, const float* b, size_t n) {
  float sum = 0.0f;
  for (size_t k = 0; k < n; ++k) {
    sum += a[k] * b[k];
  }
  return sum;
}

}  // namespace flywheel::base
