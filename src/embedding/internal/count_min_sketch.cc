#include "embedding/internal/count_min_sketch.h"

#include <algorithm>
#include <limits>

#include "base/random.h"

namespace flywheel::embedding::internal {

CountMinSketch::CountMinSketch(uint32_t width, uint32_t depth)
    : width_(width), depth_(depth), counters_(static_cast<size_t>(width) * depth, 0) {}

size_t CountMinSketch::Cell(uint64_t id, uint32_t row) const {
  const uint64_t hash = base::Mix64(id ^ base::Mix64(0xC0FFEEull + row));
  return static_cast<size_t>(row) * width_ + static_cast<size_t>(hash % width_);
}

uint32_t CountMinSketch::Estimate(uint64_t id) const {
  uint32_t estimate = std::numeric_limits<uint16_t>::max();
  for (uint32_t row = 0; row < depth_; ++row) {
    estimate = std::min<uint32_t>(estimate, counters_[Cell(id, row)]);
  }
  return estimate;
}

uint32_t CountMinSketch::Add(uint64_t id) {
  const uint32_t current = Estimate(id);
  if (current == std::numeric_limits<uint16_t>::max()) {
    return current;
  }
  for (uint32_t row = 0; row < depth_; ++row) {
    uint16_t& counter = counters_[Cell(id, row)];
    if (counter == current) {
      counter = static_cast<uint16_t>(current + 1);
    }
  }
  return current + 1;
}

}  // namespace flywheel::embedding::internal
