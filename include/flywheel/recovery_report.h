// RecoveryReport: what recovery did when a data directory was opened (doc/engine.md,
// "Recovery report"): the snapshot used, what was replayed, a torn tail cut, damage skipped with
// skip_corruption and what it lost, snapshots refused and why. Engine::stats().recovery; printed
// in the log at start, in GET /v1/stats ("recovery") and as flywheel_recovery_* metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flywheel {

// One damaged span of the log that recovery skipped (skip_corruption), or events missing at its
// end. Sequence numbers first_lost_seq..last_lost_seq are lost (0: unknown; first > last: no
// event was lost, e.g. garbage between two intact records).
struct RecoveryDamage {
  std::string file;  // the segment (or the log directory for events missing at its end)
  uint64_t offset = 0;
  uint64_t bytes = 0;
  std::string reason;
  uint64_t first_lost_seq = 0;
  uint64_t last_lost_seq = 0;
  // Ids of lost events read from damaged records whose payload still decodes (unverified).
  std::vector<std::string> lost_ids;
};

struct RefusedSnapshot {
  std::string file;
  std::string reason;
};

struct RecoveryReport {
  uint64_t snapshot_seq = 0;  // the snapshot loaded (0: started from an empty state)
  std::string snapshot_file;
  uint64_t replayed_events = 0;  // log records replayed after the snapshot
  uint64_t first_replayed_seq = 0;
  uint64_t last_replayed_seq = 0;
  uint64_t segments = 0;  // log segments read
  double seconds = 0;
  // A torn write at the end of the last segment (expected after a crash), cut.
  bool torn_tail = false;
  std::string torn_tail_file;
  uint64_t torn_tail_offset = 0;  // the valid prefix it was cut to
  uint64_t torn_tail_bytes = 0;   // bytes dropped
  // Damage skipped (only with skip_corruption) and what it lost.
  std::vector<RecoveryDamage> skipped;
  uint64_t skipped_bytes = 0;
  uint64_t lost_events = 0;  // events known lost (sum over `skipped` where the range is known)
  std::vector<RefusedSnapshot> snapshots_refused;
  // Leftover snap-*.tmp files removed at open (a snapshot write cut short; they may hold a
  // forgotten user's data).
  std::vector<std::string> temp_files_removed;
  // One line per noteworthy fact, in order (also in EngineStats::recovery_messages).
  std::vector<std::string> messages;
};

}  // namespace flywheel
