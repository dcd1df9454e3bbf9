// Tools to measure an approximate index against an exact one (tests, bench/ann_bench.cc):
// seeded clustered vectors with varied norms, and recall@k.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ann/ann_index.h"

namespace flywheel::ann {

struct ClusteredSpec {
  size_t n = 0;  // vectors
  uint32_t dim = 32;
  size_t clusters = 64;     // directions drawn uniformly on the sphere
  float spread = 0.5f;      // noise around a cluster direction (per component, times 1/sqrt(dim))
  float norm_sigma = 0.5f;  // norms are exp(normal(0, norm_sigma)): ~0.37x..2.7x at 2 sigma
  uint64_t seed = 1;
};

// n * dim floats, row-major (vector i at [i * dim, (i + 1) * dim)). Same spec, same floats.
std::vector<float> ClusteredVectors(const ClusteredSpec& spec);

// Mean over queries of |approx top-k ∩ exact top-k| / |exact top-k| (queries with an empty exact
// top-k count as 1). `queries` holds n * exact.dim() floats. Fails if a search fails.
Result<double> RecallAtK(const AnnIndex& approx, const AnnIndex& exact,
                         std::span<const float> queries, int k, IdFilter filter = {});

}  // namespace flywheel::ann
