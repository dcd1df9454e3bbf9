#include "data/zipf.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace flywheel::data {

double ZipfWeight(int64_t rank, double exponent) {
  return std::pow(static_cast<double>(rank) + 1.0, -exponent);
}

PrefixSampler::PrefixSampler(const std::vector<double>& weights) {
  cumulative_.reserve(weights.size());
  double total = 0.0;
  for (double weight : weights) {
    FLYWHEEL_DCHECK(weight >= 0.0 && std::isfinite(weight)) << "bad weight " << weight;
    total += weight;
    cumulative_.push_back(total);
  }
  const size_t slices = cumulative_.size();
  guide_.resize(slices);
  size_t index = 0;
  for (size_t k = 0; k < slices; ++k) {
    const double bound = total * static_cast<double>(k) / static_cast<double>(slices);
    while (index + 1 < slices && cumulative_[index] <= bound) {
      ++index;
    }
    guide_[k] = static_cast<uint32_t>(index);
  }
}

size_t PrefixSampler::Sample(double u, size_t prefix) const {
  FLYWHEEL_DCHECK(prefix > 0 && prefix <= cumulative_.size()) << "prefix " << prefix;
  const double total = cumulative_.back();
  const double target = u * cumulative_[prefix - 1];
  if (!(target > 0.0 || cumulative_[prefix - 1] > 0.0)) {
    return prefix - 1;  // the prefix has no weight at all
  }
  // Start at the guide entry of target's slice, then settle on the first index whose
  // cumulative weight exceeds the target (the exact inverse CDF; the guide only saves time).
  const auto slice = static_cast<size_t>(target / total * static_cast<double>(guide_.size()));
  size_t index = std::min<size_t>(guide_[std::min(slice, guide_.size() - 1)], prefix - 1);
  while (index > 0 && cumulative_[index - 1] > target) {
    --index;
  }
  while (index + 1 < prefix && cumulative_[index] <= target) {
    ++index;
  }
  return index;
}

}  // namespace flywheel::data
