// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as used by the embedding
// snapshot format (doc/formats/embedding_table.md). Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flywheel::embedding {

// Extends `crc` (the value returned for the bytes before) with `n` bytes at `data`.
// Start with Crc32cExtend(0, ...); Crc32c(data, n) == Crc32cExtend(0, data, n).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(const void* data, size_t n) {
  return Crc32cExtend(0, data, n);
}

}  // namespace flywheel::embedding
