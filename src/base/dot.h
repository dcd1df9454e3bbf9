// The one inner-product kernel of Flywheel: every model, index and serving stage calls it
// instead of writing its own loop.
//
//   LaneDot<kLanes>(a, b, n)  kLanes interleaved partial sums (lane j sums the components
//                             k = j mod kLanes), combined by a fixed pairwise tree. Deterministic;
//                             GCC vectorises kLanes > 1 without -ffast-math.
//   Dot(a, b, n)              LaneDot<1>: one accumulator, components in index order.
//
// The lane count is the only choice a caller makes, and it only moves the last bits:
//   1   every reported score (models, serving stages, the ANN indexes' exact scores, which
//       FlatIndex's panel kernel reproduces bit for bit), so the same two vectors give the same
//       score wherever they are scored;
//   8   the HNSW graph distance (measured: 16 lanes made HNSW search ~40 % slower at dim 64,
//       bench/results/refactor.md);
//   16  the transformer's kernels (src/nn), inlined into their AVX-512/AVX2 clones.
// Always inlined, so each caller's ISA applies.
#pragma once

#include <cstddef>

namespace flywheel::base {

template <size_t kLanes>
[[gnu::always_inline]] inline float LaneDot(const float* a, const float* b, size_t n) {
  static_assert(kLanes > 0 && (kLanes & (kLanes - 1)) == 0, "kLanes: a power of two");
  float acc[kLanes] = {};
  size_t c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      acc[j] += a[c + j] * b[c + j];
    }
  }
  for (size_t j = 0; c < n; ++c, ++j) {
    acc[j] += a[c] * b[c];
  }
  for (size_t w = kLanes / 2; w >= 1; w /= 2) {
    for (size_t j = 0; j < w; ++j) {
      acc[j] += acc[j + w];
    }
  }
  return acc[0];
}

inline float Dot(const float* a, const float* b, size_t n) {
  return LaneDot<1>(a, b, n);
}

}  // namespace flywheel::base
