// Constants of the event log format. See doc/formats/event_log.md for the grammar.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace flywheel::wal {

// Segment header: magic (4 bytes) "FWAL", version (fixed32), first_seq (fixed64),
// header crc (fixed32, masked crc32c of the 16 bytes before it).
inline constexpr std::string_view kSegmentMagic = "FWAL";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 4 + 4 + 8 + 4;

// Record header: checksum (4 bytes), length (4 bytes), type (1 byte); then `length` bytes.
inline constexpr size_t kRecordHeaderSize = 4 + 4 + 1;
inline constexpr uint32_t kMaxRecordSize = 1u << 20;  // payload bytes

enum RecordType : uint8_t {
  kZeroType = 0,  // reserved: zero-filled space, never written
  kEventType = 1,
};

// "000042.log" for segment number 42.
std::string SegmentFileName(uint64_t number);
// Parses a segment file name; false for any other file name.
bool ParseSegmentFileName(std::string_view name, uint64_t* number);

}  // namespace flywheel::wal
