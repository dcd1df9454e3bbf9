// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven (slicing-by-8), and the
// LevelDB mask applied to CRCs stored on disk. Pure functions, thread-safe.
//   Value("123456789") == 0xE3069283; Value(32 zero bytes) == 0x8A9136AA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flywheel::base::crc32c {

// Returns the crc32c of concat(A, data) where `init_crc` is the crc32c of some string A.
uint32_t Extend(uint32_t init_crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) {
  return Extend(0, data, n);
}
inline uint32_t Value(std::string_view data) {
  return Extend(0, data.data(), data.size());
}

// Stored CRCs are masked: computing the CRC of a string that contains embedded CRCs is
// problematic, so the stored value is rotated and offset (as LevelDB does).
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace flywheel::base::crc32c
