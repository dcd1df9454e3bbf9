// Dot-product kernels shared by the indexes. Both sum over components in index order with one
// float accumulator per item, so a panel score and a row score of the same vectors are
// bit-identical (FlatIndex and HnswIndex report the same score for the same item).
//
// Panel layout: 8 items interleaved, component k of item j at panel[k * kPanel + j]. The 8
// accumulators are independent lanes, so GCC -O2 vectorises PanelDot without reassociating sums
// (checked with -fopt-info-vec; see doc/ann.md).
#pragma once

#include <cstddef>

namespace flywheel::ann {

inline constexpr size_t kPanel = 8;

// scores[j] = sum_k query[k] * panel[k * kPanel + j] for j < kPanel.
// REQUIRES: panel holds dim * kPanel floats; scores holds kPanel floats.
void PanelDot(const float* __restrict panel, const float* __restrict query, size_t dim,
              float* __restrict scores);

// sum_k a[k] * b[k], in index order.
float RowDot(const float* a, const float* b, size_t dim);

// sum_k a[k] * b[k] in 8 interleaved partial sums (lane j sums k = j mod 8), added at the end:
// vectorised by GCC -O2 without -ffast-math, used as the graph distance; differs from RowDot in
// the last bits only.
float LaneDot(const float* a, const float* b, size_t dim);

}  // namespace flywheel::ann
