// SnapshotPolicy: when the learner writes an automatic snapshot (doc/engine.md, "Snapshots and
// retention"): after `every` applied events since the last one, or at the first event applied
// `interval_ms` or more after it, whichever comes first (0 turns a limit off). This bounds the log
// that recovery replays, by count and by age.
//
// Threads: the learner thread only (not synchronised).
#pragma once

#include <chrono>
#include <cstdint>

namespace flywheel::engine {

class SnapshotPolicy {
 public:
  SnapshotPolicy(uint64_t every, uint64_t interval_ms) : every_(every), interval_ms_(interval_ms) {}

  // The state is at `seq` (a snapshot or recovery): the next limits count from here and now.
  void Reset(uint64_t seq);
  // Whether a snapshot is due after applying `seq`; when it is, counts from `seq` and now on.
  bool Due(uint64_t seq);

 private:
  const uint64_t every_;
  const uint64_t interval_ms_;
  uint64_t last_seq_ = 0;
  std::chrono::steady_clock::time_point last_time_ = std::chrono::steady_clock::now();
};

}  // namespace flywheel::engine
