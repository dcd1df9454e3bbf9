// Recovery: brings a data directory's learned state back at Engine::Open (doc/engine.md,
// "Recovery"). Removes leftover snapshot temp files; loads the newest valid snapshot file (a
// purge snapshot's copy when the snapshot itself fails) into the LearnedState (and the dedup
// window into the Ingestor), falling back to older ones and finally to an empty state; replays
// the log after it through the Learner's apply step (segments wholly before it are not read);
// cuts a torn tail; opens the log writer after the last record; and finishes an interrupted user
// deletion (snapshot and purge; a purge snapshot loaded from its copy is written again). With
// deterministic models the state after recovery is bit-identical to an uninterrupted run.
//
// Runs on the opening thread before the learner and indexer threads start.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/recovery_report.h"

#include "engine/ingest/ingestor.h"
#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/messages.h"
#include "engine/store/snapshots.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

struct RecoveryOptions {
  std::string wal_dir;
  std::string durability = "sync";
  uint64_t segment_bytes = 64ull << 20;
  bool read_only = false;
  bool skip_corruption = false;
};

// What recovery did (include/flywheel/recovery_report.h).
using RecoveryReport = ::flywheel::RecoveryReport;

// Copies the report into the engine's stats (recovery, and the older flat fields).
void FillRecoveryStats(const RecoveryReport& report, std::vector<std::string> messages,
                       EngineStats* stats);

Result<RecoveryReport> Recover(io::Env* env, const RecoveryOptions& options, LearnedState* state,
                               Ingestor* ingestor, Learner* learner, Snapshots* snapshots,
                               MessageLog* messages);

}  // namespace flywheel::engine
