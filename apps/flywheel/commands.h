// Subcommands implemented outside main.cc. Each returns the process exit code (0 ok, 1 runtime
// error, 2 invalid arguments).
#pragma once

#include <vector>

#include "flywheel/engine.h"
#include "flywheel/result.h"
#include "flywheel/status.h"

#include "flags.h"

namespace flywheel::cli {

int IngestMain(int argc, char** argv);
int InspectMain(int argc, char** argv);
int SnapshotMain(int argc, char** argv);
int PretrainMain(int argc, char** argv);
int ServeMain(int argc, char** argv);
int ReplayMain(int argc, char** argv);
int ModelsMain(int argc, char** argv);
int ImportItemsMain(int argc, char** argv);  // import_command.cc
int BackupMain(int argc, char** argv);       // backup_command.cc
int RepairMain(int argc, char** argv);       // repair_command.cc
int OpeMain(int argc, char** argv);          // ope_command.cc
int SimulateMain(int argc, char** argv);     // simulate_command.cc

// The one parser of --models a,b and --param a.k=v (model::ParseModelSpecs), for every
// subcommand: model specs, empty when --models is absent (ingest/serve: the data directory's
// configuration is used; eval: its default list). An explicitly empty --models is an error.
Result<std::vector<ModelSpec>> ParseModelSpecs(const Flags& flags);

// --rating-threshold X (serve, ingest, eval): a `rating` event below X is negative feedback
// for learning (EngineOptions::rating_threshold). RatingThresholdFlag() is its spec; the parser
// leaves *threshold as it is when the flag is absent (a config file may have set it) and
// answers kInvalidArgument naming the flag when X is not a finite number.
FlagSpec RatingThresholdFlag();
Status ParseRatingThreshold(const Flags& flags, double* threshold);

// Parses argv[2..] into `flags`, prints the usage for --help, else runs `fn` and maps its
// status to the exit code (Fail).
int RunCommand(Flags flags, int argc, char** argv, Status (*fn)(const Flags&));

// Prints "flywheel: <message>" on stderr and returns 2 for kInvalidArgument, else 1.
int Fail(const Status& status);

}  // namespace flywheel::cli
