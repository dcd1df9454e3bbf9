// Subcommands implemented outside main.cc. Each returns the process exit code (0 ok, 1 runtime
// error, 2 invalid arguments).
#pragma once

#include "flywheel/status.h"

namespace flywheel::cli {

int IngestMain(int argc, char** argv);
int InspectMain(int argc, char** argv);
int SnapshotMain(int argc, char** argv);
int ServeMain(int argc, char** argv);

// Prints "flywheel: <message>" on stderr and returns 2 for kInvalidArgument, else 1.
int Fail(const Status& status);

}  // namespace flywheel::cli
