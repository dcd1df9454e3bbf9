// Little-endian fixed-width and varint32 encoding (doc/formats/event_log.md), inline because
// they run once per field of every logged event. Decoders work on a cursor (string_view that is
// advanced) and return false on truncated or overlong input; they never read out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace flywheel::wal {

inline void EncodeFixed32(char* dst, uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    dst[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  }
}

inline void PutFixed32(std::string* out, uint32_t value) {
  char buf[4];
  for (int i = 0; i < 4; ++i) {
    buf[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  out->append(buf, 4);
}

inline void PutFixed64(std::string* out, uint64_t value) {
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  }
  out->append(buf, 8);
}

inline void PutVarint32(std::string* out, uint32_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

inline void PutLengthPrefixed(std::string* out, std::string_view bytes) {
  PutVarint32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

// REQUIRES: p points to at least 4 (8) readable bytes.
inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | (static_cast<uint32_t>(u[1]) << 8) |
         (static_cast<uint32_t>(u[2]) << 16) | (static_cast<uint32_t>(u[3]) << 24);
}
inline uint64_t DecodeFixed64(const char* p) {
  return static_cast<uint64_t>(DecodeFixed32(p)) |
         (static_cast<uint64_t>(DecodeFixed32(p + 4)) << 32);
}

inline bool GetFixed64(std::string_view* in, uint64_t* value) {
  if (in->size() < 8) {
    return false;
  }
  *value = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

inline bool GetVarint32(std::string_view* in, uint32_t* value) {
  uint32_t result = 0;
  for (int shift = 0, i = 0; i < 5 && i < static_cast<int>(in->size()); ++i, shift += 7) {
    const auto byte = static_cast<uint32_t>(static_cast<unsigned char>((*in)[i]));
    if (i == 4 && byte > 0x0F) {
      return false;  // more than 32 bits
    }
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

inline bool GetLengthPrefixed(std::string_view* in, std::string* out) {
  uint32_t length = 0;
  if (!GetVarint32(in, &length) || length > in->size()) {
    return false;
  }
  out->assign(in->data(), length);
  in->remove_prefix(length);
  return true;
}

}  // namespace flywheel::wal
