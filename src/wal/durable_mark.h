// DurableMark: the file wal/DURABLE, written at a clean close of the log, records the highest
// sequence number known durable then and where the log ended (segment, bytes). Recovery checks
// that the log still reaches that seq: a last segment cut at a record boundary, or cut inside a
// record after a clean shutdown, reads like a torn tail but is loss of acknowledged events
// (doc/formats/event_log.md, "Durable mark").
//
// Format (32 bytes): magic "FWDM", last_seq fixed64, segment fixed64, bytes fixed64, crc fixed32
// (masked crc32c of the 28 bytes before it). Written safely (temp file, fdatasync, rename,
// directory fsync).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "flywheel/result.h"

#include "io/env.h"

namespace flywheel::wal {

inline constexpr char kDurableMarkName[] = "DURABLE";

struct DurableMark {
  uint64_t last_seq = 0;  // every event up to this seq was durable when the mark was written
  uint64_t segment = 0;   // the last segment's number then
  uint64_t bytes = 0;     // its size then
};

// Writes `mark` to `dir`/DURABLE (replacing it atomically).
Status WriteDurableMark(io::Env* env, const std::string& dir, const DurableMark& mark);

// The mark for the log in `dir` as it is now (its last segment and size) with `last_seq`.
Status MarkLogDurable(io::Env* env, const std::string& dir, uint64_t last_seq);

// Reads `dir`/DURABLE: nullopt when there is none; kCorruption naming the file when it is
// damaged (callers ignore a damaged mark: it only ever adds a check).
Result<std::optional<DurableMark>> ReadDurableMark(io::Env* env, const std::string& dir);

// Removes the mark (after recovery accepted a loss with skip_corruption) and syncs `dir`.
Status RemoveDurableMark(io::Env* env, const std::string& dir);

}  // namespace flywheel::wal
