// Binary encoding of one logged event (the payload of a kEventType record) and of whole records.
// Grammar in doc/formats/event_log.md:
//   seq:fixed64 user:string item:string type:string value:fixed64(f64) ts_ms:fixed64 id:string
//   context_count:varint32 (key:string val:string)*
// Decoding checks structure only (event meaning was validated before logging); any structural
// error is kCorruption. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flywheel/event.h"
#include "flywheel/status.h"

namespace flywheel::wal {

// One event read back from the log.
struct LogRecord {
  uint64_t seq = 0;
  Event event;
};

inline constexpr uint32_t kMaxContextEntries = 65535;

// Appends the payload encoding of (seq, event) to `*out`.
void EncodeEvent(uint64_t seq, const Event& event, std::string* out);

// Decodes a payload into `*out` (its strings are reused). kCorruption on truncated input,
// overlong varints, too many context entries or trailing bytes.
Status DecodeEvent(std::string_view payload, LogRecord* out);

// Appends a complete kEventType record (crc, length, type, payload) to `*out`. kInvalidArgument
// if the payload would exceed kMaxRecordSize (nothing is appended then).
Status AppendEventRecord(uint64_t seq, const Event& event, std::string* out);

// The 20-byte segment header for a segment whose first record has `first_seq`.
std::string EncodeSegmentHeader(uint64_t first_seq);

}  // namespace flywheel::wal
