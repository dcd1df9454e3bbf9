// Repair: recovers everything recoverable from a damaged data directory into a new one and says
// exactly what was lost (`flywheel repair`, doc/operations.md "Repairing a damaged data
// directory"). The damaged directory is only read, never modified.
//
// It copies engine.json, picks the newest snapshot that decodes (checksums verified), salvages
// every good log record after it from every segment (skipping damaged spans, as
// skip_corruption does, and reading past a torn tail), and writes them to a fresh log. Sequence
// numbers must be contiguous after the snapshot: where records were lost, the later ones are
// renumbered (their event ids, which deduplicate, are kept), and the report says from where. The
// result is then opened read-only to verify it recovers cleanly; if the chosen snapshot does not
// load, the next older one is tried, and finally none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flywheel/recovery_report.h"
#include "flywheel/result.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

struct RepairReport {
  std::string data_dir;
  std::string out_dir;
  uint64_t snapshot_seq = 0;  // the snapshot copied (0: none; the state is rebuilt from the log)
  std::vector<RefusedSnapshot> snapshots_refused;
  uint64_t records_salvaged = 0;  // log records written to the new log
  uint64_t first_seq = 0;         // original seq of the first and last record salvaged
  uint64_t last_seq = 0;
  // Original seq ranges lost (events the old directory had acknowledged, as far as it shows).
  std::vector<std::pair<uint64_t, uint64_t>> lost_seqs;
  uint64_t lost_events = 0;
  // Damaged byte ranges of the old log (file, offset, bytes, reason, seqs, ids where known).
  std::vector<RecoveryDamage> damage;
  // Torn tail of the old log (a partial last write: not acknowledged data), if any.
  std::string torn_tail_file;
  uint64_t torn_tail_offset = 0;
  uint64_t torn_tail_bytes = 0;
  // Where renumbering started: records from original seq `renumbered_from` on got new seqs
  // starting at `renumbered_to` (0: no renumbering).
  uint64_t renumbered_from = 0;
  uint64_t renumbered_to = 0;
  uint64_t verified_last_seq = 0;  // last_seq of the new directory, opened read-only
};

// Repairs `data_dir` into `out_dir`, which must not exist or be empty. kNotFound when
// `data_dir` is not a data directory; kFailedPrecondition for a non-empty `out_dir`.
Result<RepairReport> Repair(io::Env* env, const std::string& data_dir, const std::string& out_dir);

}  // namespace flywheel::engine
