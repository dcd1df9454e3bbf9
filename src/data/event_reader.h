// EventReader: a streaming source of events (a dataset file, a JSON Lines file, the synthetic
// generator). Memory use is constant per event: Next() reuses the caller's Event.
//
// Malformed input: a reader returns kInvalidArgument naming file, line and field
// ("u.data:12: field 'rating': not a number: 'x'") unless its SkipPolicy allows skipping, in
// which case the line is counted in stats() (per reason) and reading goes on.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"

namespace flywheel::data {

struct SkipPolicy {
  // How many malformed lines may be skipped before reading fails (0 = fail on the first).
  int64_t max_skipped = 0;
};

struct ReadStats {
  int64_t lines = 0;    // physical lines (or records) read, headers included
  int64_t events = 0;   // events returned
  int64_t skipped = 0;  // malformed lines skipped under the SkipPolicy
  std::map<std::string, int64_t> skipped_by_reason;  // e.g. "field 'rating'" -> 3
  std::string first_error;                           // message of the first skipped line
};

class EventReader {
 public:
  virtual ~EventReader() = default;

  // Fills *event with the next event. Returns true if one was read, false at the end of the
  // stream, or an error (malformed input beyond the skip policy, I/O error).
  virtual Result<bool> Next(Event* event) = 0;

  // Item metadata known to the source (titles, genres, categories, tags). Loaded when the
  // reader is opened; empty when the source has none.
  virtual const std::vector<Item>& items() const = 0;

  // True when the source's events carry real timestamps (Last.fm play counts do not).
  virtual bool has_timestamps() const { return true; }
  // True when events come out in non-decreasing time order (otherwise the consumer sorts).
  virtual bool time_ordered() const { return false; }
  // The default positive-event filter for evaluation, e.g. "rating>=4" or "all".
  virtual std::string default_positive() const { return "all"; }
  // Notes for reports ("no timestamps: file order is used as time").
  virtual std::vector<std::string> notes() const { return {}; }

  virtual const ReadStats& stats() const = 0;
};

}  // namespace flywheel::data
