// CountMinSketch: approximate occurrence counts of 64-bit ids in fixed memory, used as the
// admission filter of EmbeddingTable. depth rows of width saturating uint16 counters; an id's
// estimate is the minimum of its depth counters, so it never under-counts (an id is never
// admitted later than its true count says) and over-counts only through collisions (a rare
// early admission). Deterministic: hashes are base::Mix64 of the id and the row number.
// Thread safety: none; EmbeddingTable guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace flywheel::embedding::internal {

class CountMinSketch {
 public:
  // width == 0 or depth == 0 gives an empty sketch (Add must not be called).
  CountMinSketch(uint32_t width, uint32_t depth);

  // Counts one occurrence of `id` (conservative update: only the counters at the current
  // minimum are raised) and returns the new estimate.
  uint32_t Add(uint64_t id);
  uint32_t Estimate(uint64_t id) const;

  uint32_t width() const { return width_; }
  uint32_t depth() const { return depth_; }
  // Row-major [depth][width], for snapshots.
  std::span<const uint16_t> counters() const { return counters_; }
  std::span<uint16_t> mutable_counters() { return counters_; }
  size_t memory_bytes() const { return counters_.size() * sizeof(uint16_t); }

 private:
  size_t Cell(uint64_t id, uint32_t row) const;

  uint32_t width_;
  uint32_t depth_;
  std::vector<uint16_t> counters_;
};

}  // namespace flywheel::embedding::internal
