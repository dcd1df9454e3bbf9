#include "embedding/internal/slab_store.h"

#include <cstdlib>
#include <new>

#include "base/check.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace flywheel::embedding::internal {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

void* AllocateMaybeHuge(size_t bytes) {
  if (bytes < kHugePage) {
    return std::malloc(bytes);
  }
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* memory = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (memory != nullptr) {
    ::madvise(memory, rounded, MADV_HUGEPAGE);  // a hint: failure only costs speed
  }
#endif
  return memory;
}

void FreeDeleter::operator()(void* p) const {
  std::free(p);
}

void SlabStore::EnsureSlot(size_t slot) {
  FLYWHEEL_CHECK(slot <= capacity_) << "embedding: slots must be allocated in order";
  if (slot < capacity_) {
    return;
  }
  const size_t rows = kFirstSlabRows << slabs_.size();
  auto* slab = static_cast<float*>(AllocateMaybeHuge(rows * row_floats_ * sizeof(float)));
  if (slab == nullptr) {
    throw std::bad_alloc();  // like any container running out of memory
  }
  slabs_.emplace_back(slab);
  capacity_ += rows;
}

}  // namespace flywheel::embedding::internal
