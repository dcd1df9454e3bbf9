#include "embedding/crc32c.h"

#include <array>

namespace flywheel::embedding {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;

// Slicing-by-4 tables: table[0] is the classic byte table, table[k][b] is the CRC of byte b
// followed by k zero bytes.
using Tables = std::array<std::array<uint32_t, 256>, 4>;

constexpr Tables MakeTables() {
  Tables tables{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1u) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    }
    tables[0][byte] = crc;
  }
  for (size_t k = 1; k < 4; ++k) {
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const uint32_t prev = tables[k - 1][byte];
      tables[k][byte] = (prev >> 8) ^ tables[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr Tables kTables = MakeTables();

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t state = ~crc;
  while (n >= 4) {
    state ^= static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
             static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
    state = kTables[3][state & 0xFFu] ^ kTables[2][(state >> 8) & 0xFFu] ^
            kTables[1][(state >> 16) & 0xFFu] ^ kTables[0][state >> 24];
    bytes += 4;
    n -= 4;
  }
  for (; n > 0; --n, ++bytes) {
    state = (state >> 8) ^ kTables[0][(state ^ *bytes) & 0xFFu];
  }
  return ~state;
}

}  // namespace flywheel::embedding
