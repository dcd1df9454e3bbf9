// SlabStore: row storage for EmbeddingTable. Rows of a fixed number of floats live in slabs that
// never move once allocated (so growth never copies the table). Slab s holds kFirstSlabRows << s
// rows: small tables stay small, and a table of n rows needs only about log2(n / 1024) slabs.
// Slot -> (slab, offset) is a few bit operations. Slabs of 2 MiB or more are 2 MiB-aligned and
// advised to use transparent huge pages (Linux madvise), which removes most TLB misses on
// random access to multi-GB tables. Memory is not touched until rows are written.
// Thread safety: none; EmbeddingTable guards it with its lock.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace flywheel::embedding::internal {

// malloc for small sizes; for 2 MiB or more, 2 MiB-aligned memory advised to use transparent
// huge pages (Linux madvise; a hint only). Returns nullptr when out of memory. Free with
// std::free (FreeDeleter). The memory is not initialised.
void* AllocateMaybeHuge(size_t bytes);
struct FreeDeleter {
  void operator()(void* p) const;
};

class SlabStore {
 public:
  explicit SlabStore(size_t row_floats) : row_floats_(row_floats) {}

  // Pointer to the row_floats floats of `slot`. REQUIRES: slot < capacity().
  float* Row(size_t slot) const {
    const size_t shifted = slot + kFirstSlabRows;  // >= 2^kFirstSlabShift, so bit_width >= 11
    const auto high = static_cast<unsigned>(std::bit_width(shifted)) - 1U;
    const size_t slab = high - kFirstSlabShift;
    return slabs_[slab].get() + (shifted - std::bit_floor(shifted)) * row_floats_;
  }
  // Makes slot `slot` valid, allocating the next slab if needed. REQUIRES: slot <= capacity().
  void EnsureSlot(size_t slot);

  size_t capacity() const { return capacity_; }  // slots allocated
  size_t memory_bytes() const { return capacity_ * row_floats_ * sizeof(float); }

 private:
  static constexpr unsigned kFirstSlabShift = 10;
  static constexpr size_t kFirstSlabRows = size_t{1} << kFirstSlabShift;

  size_t row_floats_;
  size_t capacity_ = 0;
  std::vector<std::unique_ptr<float[], FreeDeleter>> slabs_;
};

}  // namespace flywheel::embedding::internal
