// LogReader: reads the event log (doc/formats/event_log.md) in sequence order across segments,
// cutting a torn tail and reporting corruption. Also the recovery helpers TruncateTail and
// CollectEventIds.
//
// Error contract of Next(): kCorruption naming the file, byte offset and damaged byte count for
// damage anywhere but a torn write at the very end, sequence gaps/repeats, or events missing
// before `start_seq`; kIoError/kNotFound from the Env. A torn write (doc/formats/event_log.md,
// "Reading": a partial last record or zero-filled space, nothing valid after it) is not an error:
// it is cut and described in report(). A complete but damaged last record is corruption. With
// `tolerate_corruption` damaged spans are skipped and described (ReadReport::damage) instead.
// Thread safety: one thread per reader. The reader holds one segment in memory at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "flywheel/result.h"

#include "io/env.h"
#include "wal/event_codec.h"

namespace flywheel::wal {

struct ReaderOptions {
  // Records with a smaller seq are not returned: segments wholly before it (the next segment's
  // header says it starts at or before start_seq) are not read at all; records before it in the
  // first segment read are checked. 0: from the first record.
  uint64_t start_seq = 0;
  // Skip damaged spans (counted in ReadReport) instead of failing. Default: strict.
  bool tolerate_corruption = false;
};

// One damaged span of a segment (skipped with tolerate_corruption, or the first one found).
struct Damage {
  std::string file;  // segment path
  uint64_t offset = 0;
  uint64_t bytes = 0;  // damaged bytes from `offset` (to the next good record or the end)
  std::string reason;
  // Sequence numbers of the events lost: first_lost_seq .. last_lost_seq (last 0: up to the end
  // of the log, unknown; first > last: none, e.g. garbage between two intact records).
  uint64_t first_lost_seq = 0;
  uint64_t last_lost_seq = 0;
  // Event ids read from damaged records whose payload still decodes (unverified: the checksum
  // failed); empty where unknown.
  std::vector<std::string> lost_ids;
};

// What the reader saw; complete once Next() has returned false.
struct ReadReport {
  uint64_t segments = 0;
  uint64_t records_returned = 0;
  uint64_t first_seq = 0;  // seq of the first good record in the log (0: none)
  uint64_t last_seq = 0;   // seq of the last good record (0: none)
  // The seq a writer should continue with: last_seq + 1, or the first_seq of a trailing segment
  // without records; 1 for an empty log.
  uint64_t next_seq = 1;
  // Torn tail (last segment): cut at tail_valid_bytes, tail_dropped_bytes lost.
  bool tail_truncated = false;
  bool tail_header_torn = false;  // the tail segment's header itself is damaged or short
  std::string tail_file;          // path of the last segment
  uint64_t tail_valid_bytes = 0;
  uint64_t tail_dropped_bytes = 0;
  // Only with tolerate_corruption.
  uint64_t corruptions_skipped = 0;
  uint64_t bytes_skipped = 0;
  uint64_t sequence_gaps = 0;
  std::vector<Damage> damage;
  // One human-readable line per cut or skip ("wal: torn tail: cut 000003.log at offset 4116, 37
  // bytes dropped (record extends past end of file)").
  std::vector<std::string> messages;
};

class LogReader {
 public:
  // Lists the segments in `dir` (a missing directory is an empty log). Reads nothing else yet.
  static Result<std::unique_ptr<LogReader>> Open(io::Env* env, const std::string& dir,
                                                 const ReaderOptions& options);

  // Fills `*out` with the next record and returns true, or returns false at the end of the log.
  // After an error the reader must not be used again.
  Result<bool> Next(LogRecord* out);

  const ReadReport& report() const { return report_; }

 private:
  struct Segment {
    uint64_t number;
    std::string path;
  };
  LogReader(io::Env* env, std::vector<Segment> segments, const ReaderOptions& options);

  bool is_last() const { return index_ + 1 == segments_.size(); }
  std::string Where(uint64_t offset) const;
  Status LoadSegment();
  Status ParseHeader();
  // Parses the record at `offset`: OK and its size in `*size`, or a reason why it is bad.
  std::string ParseRecordAt(uint64_t offset, LogRecord* out, uint64_t* size) const;
  // Offset of the first good record at or after `from` whose seq is >= expected_; npos if none.
  uint64_t FindGoodRecord(uint64_t from) const;
  Status HandleBadSpot(uint64_t offset, const std::string& reason);
  // True when the bad spot at `offset` (nothing valid after it, last segment) is what a crash
  // during a write leaves: a partial record or zero-filled space (see event_log.md).
  bool IsTornWrite(uint64_t offset) const;
  // The damage record for a bad span [offset, resume); `resume_seq` is the seq of the good record
  // at `resume` (0: none found in this segment).
  Damage DescribeDamage(uint64_t offset, uint64_t resume, uint64_t resume_seq,
                        const std::string& reason) const;
  Status CheckSequence(uint64_t seq, uint64_t offset, bool* skip);

  io::Env* const env_;
  const std::vector<Segment> segments_;
  const ReaderOptions options_;
  size_t index_ = 0;       // current segment
  bool loaded_ = false;    // buffer_ holds segments_[index_]
  std::string buffer_;     // the whole current segment
  uint64_t pos_ = 0;       // next byte to parse in buffer_
  uint64_t expected_ = 0;  // next seq expected; 0 before the first header
  mutable LogRecord scratch_;
  ReadReport report_;
};

// Makes a torn tail described by `report` permanent: truncates the tail segment to its valid
// prefix (fdatasync), or removes it (and syncs the directory) when its header was torn. No-op when
// the tail was intact. Call before opening a LogWriter on a recovered log.
Status TruncateTail(io::Env* env, const std::string& dir, const ReadReport& report);

// Reads the whole log from `options.start_seq` and inserts every non-empty event id into `*ids`
// (the engine's deduplication set after recovery). Fills `*report` if not null.
Status CollectEventIds(io::Env* env, const std::string& dir, const ReaderOptions& options,
                       std::unordered_set<std::string>* ids, ReadReport* report);

}  // namespace flywheel::wal
