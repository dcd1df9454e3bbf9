// StorageUsage: the bytes a data directory holds on disk (doc/engine.md, "Data directory"):
// the event log's segment files (D/wal/NNNNNN.log) and the snapshot files
// (D/snapshots/snap-<seq>.fws). Stray files (a snapshot's .tmp, anything else) are not counted.
//
// Threads: any; lists the directories through the Env each call (no state). A file removed
// between the listing and its size (retention running meanwhile) is skipped.
#pragma once

#include <string>

#include "flywheel/engine.h"
#include "flywheel/result.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

Result<StorageStats> MeasureStorage(io::Env* env, const std::string& data_dir);

}  // namespace flywheel::engine
