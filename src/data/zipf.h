// Popularity helpers for the synthetic generator (data/synthetic.h): Zipf weights and an
// inverse-CDF sampler that draws from any prefix of its weights, so that a catalogue whose
// items arrive over time (in index order) can be sampled without rebuilding anything.
// PrefixSampler is immutable after construction: safe for concurrent use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flywheel::data {

// Weight of popularity rank `rank` (0 = most popular): (rank + 1)^-exponent. exponent >= 0.
double ZipfWeight(int64_t rank, double exponent);

// Draws an index i in [0, prefix) with probability weights[i] / sum(weights[0, prefix)).
// Inverse CDF over cumulative weights, started from a guide table (Chen's method: the first
// index of each of size() equal slices of the total weight), so a draw costs O(1) expected
// instead of a binary search. Memory: a double and a uint32_t per weight.
class PrefixSampler {
 public:
  PrefixSampler() = default;
  // REQUIRES: every weight is finite and >= 0.
  explicit PrefixSampler(const std::vector<double>& weights);  // REQUIRES: size < 2^32

  size_t size() const { return cumulative_.size(); }
  // Sum of weights[0, prefix). REQUIRES: prefix <= size().
  double PrefixTotal(size_t prefix) const { return prefix == 0 ? 0.0 : cumulative_[prefix - 1]; }
  // `u` is uniform in [0, 1). REQUIRES: 0 < prefix <= size(). When the prefix has zero total
  // weight (weights that underflowed), returns prefix - 1.
  size_t Sample(double u, size_t prefix) const;

 private:
  std::vector<double> cumulative_;  // cumulative_[i] = sum(weights[0, i])
  std::vector<uint32_t> guide_;     // guide_[k]: first i with cumulative_[i] > k * total / size
};

}  // namespace flywheel::data
