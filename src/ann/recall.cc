#include "ann/recall.h"

#include <algorithm>
#include <cmath>

#include "base/random.h"

namespace flywheel::ann {

std::vector<float> ClusteredVectors(const ClusteredSpec& spec) {
  base::Rng rng(spec.seed);
  const size_t dim = spec.dim;
  std::vector<float> centers(spec.clusters * dim);
  for (float& x : centers) {
    x = static_cast<float>(rng.Normal());
  }
  const double noise = spec.spread;  // centers have squared norm ~dim, noise ~spread^2 * dim
  std::vector<float> out(spec.n * dim);
  std::vector<double> v(dim);
  for (size_t i = 0; i < spec.n; ++i) {
    const float* center = centers.data() + rng.Uniform(spec.clusters) * dim;
    double norm2 = 0;
    for (size_t k = 0; k < dim; ++k) {
      v[k] = center[k] + noise * rng.Normal();
      norm2 += v[k] * v[k];
    }
    const double scale = std::exp(spec.norm_sigma * rng.Normal()) / std::sqrt(norm2);
    for (size_t k = 0; k < dim; ++k) {
      out[i * dim + k] = static_cast<float>(v[k] * scale);
    }
  }
  return out;
}

Result<double> RecallAtK(const AnnIndex& approx, const AnnIndex& exact,
                         std::span<const float> queries, int k, IdFilter filter) {
  const size_t dim = exact.dim();
  const size_t n = queries.size() / dim;
  if (n == 0) {
    return 1.0;
  }
  std::vector<Neighbor> want;
  std::vector<Neighbor> got;
  double sum = 0;
  for (size_t q = 0; q < n; ++q) {
    const std::span<const float> query = queries.subspan(q * dim, dim);
    FLYWHEEL_RETURN_IF_ERROR(exact.Search(query, k, filter, &want));
    FLYWHEEL_RETURN_IF_ERROR(approx.Search(query, k, filter, &got));
    if (want.empty()) {
      sum += 1.0;
      continue;
    }
    size_t hits = 0;
    for (const Neighbor& w : want) {
      hits += std::any_of(got.begin(), got.end(), [&](const Neighbor& g) { return g.id == w.id; });
    }
    sum += static_cast<double>(hits) / static_cast<double>(want.size());
  }
  return sum / static_cast<double>(n);
}

}  // namespace flywheel::ann
