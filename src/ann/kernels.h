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

// sum_k a[k] * b[k], in index order: base::Dot.
float RowDot(const float* a, const float* b, size_t dim);

// The graph distance's kernel: base::LaneDot<8> (8 partial sums, vectorised by GCC -O2);
// differs from RowDot in the last bits only.

}  // namespace flywheel::ann
