// PowerLossBench: simulated power losses of an in-process engine (reliability guide D3, D6).
//
// The engine runs on a FaultInjectionEnv. Each cycle opens the data directory with the file
// system set to stop at a random mutating operation (so the "power" may go during recovery, a log
// append, an fdatasync, a segment roll-over or a snapshot written by the learner), acknowledges
// batches of events (deterministic stream, unique ids, random batch sizes) until it does, then
// drops every unsynced byte (or keeps a random prefix of them followed by nothing, zeros or
// garbage: a torn tail), deletes files whose directory was not synced, undoes or keeps each
// rename not yet made durable by a directory sync (the old name and the replaced file come back)
// and may bring back files removed since the last directory sync, and reopens. After each
// recovery it checks:
//   - no acknowledged event is lost: last_seq >= what was promised durable (sync mode: every
//     acknowledged batch; interval mode: stats().durable_seq, the engine's own promise);
//   - nothing is invented or applied twice: last_seq <= events ever offered, the retried events
//     come back as duplicates by id (exactly the ones the log kept) and a sample of older ids too;
//   - the learned state (StateDigest over the model tables, id maps and user state) equals an
//     uninterrupted single-threaded run over the same events (the log always holds a prefix of the
//     stream, so the reference is the digest after the first last_seq events).
// A directory lives for `cycles_per_dir` cycles, then is finished without faults (every event
// retried: exactly one copy each, final digest equal) and replaced by a fresh one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/result.h"

#include "base/random.h"

namespace flywheel::io {
class FaultInjectionEnv;
}  // namespace flywheel::io

namespace flywheel::bench {

struct PowerLossOptions {
  uint64_t seed = 1;
  int cycles = 40;          // simulated power losses in all
  int cycles_per_dir = 20;  // then the directory is finished and replaced
  size_t events_per_dir = 2500;
  int max_crash_operation = 48;  // the crash point is drawn in [1, this] mutating calls
  // Unsynced directory operations reach the disk in order (a crash undoes a suffix of them, as on
  // a journaling file system); false: any subset (POSIX's weakest promise).
  bool dir_ops_in_order = true;
  std::string work_dir;  // directories are created (and removed) under it
  bool verbose = false;
  // Called after each simulated power loss with the data directory (tests: damage it on purpose
  // to show that the checks catch a loss).
  std::function<void(const std::string& data_dir)> after_crash;
};

struct PowerLossReport {
  int power_losses = 0;
  int crashes_in_recovery = 0;  // the crash point fell inside Open()
  int crashes_in_ingest = 0;    // inside an Ingest (append, fdatasync, roll-over) or a snapshot
  int crashes_between = 0;      // the crash point was not reached: power cut after the batches
  int verified_recoveries = 0;
  int interval_cycles = 0;  // cycles run in interval durability mode
  int torn_cut = 0, torn_zeros = 0, torn_garbage = 0, torn_none = 0;  // what the crash left
  int dirs = 0;
  uint64_t events_acknowledged = 0;           // promised durable (counted once each)
  uint64_t events_logged_unacknowledged = 0;  // kept by the log though not yet promised
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  int state_mismatches = 0;
  int unrecoverable = 0;                // Open failed without an injected crash
  int opened_with_skip_corruption = 0;  // of those, opened with skip_corruption (then verified)
  std::vector<double> recovery_ms;      // Open() after a power loss
  // Interval mode: acknowledged events a power loss took (allowed within the documented window),
  // per such loss the age of the oldest one at the power loss, and how many were older than it.
  uint64_t interval_acked_lost = 0;
  std::vector<double> interval_lost_age_ms;
  int interval_window_exceeded = 0;
  std::vector<std::string> failures;
  double seconds = 0;

  bool ok() const { return failures.empty(); }
  std::string ToJson() const;
};

class PowerLossBench {
 public:
  explicit PowerLossBench(PowerLossOptions options);
  ~PowerLossBench();

  // Runs every cycle; returns the report (failures listed in it), or an error when the bench
  // itself could not run (the reference run failed, a directory could not be created).
  Result<PowerLossReport> Run();

 private:
  struct DirState;
  Status ComputeReference();
  Status RunDir(int dir_index, int cycles, PowerLossReport* report);
  void Verify(Engine* engine, DirState* dir, PowerLossReport* report);
  void FinishDir(DirState* dir, PowerLossReport* report);
  void CheckIntervalWindow(uint64_t last, DirState* dir, PowerLossReport* report);
  void IngestUntilCrash(Engine* engine, bool interval, DirState* dir, PowerLossReport* report);
  EngineOptions RandomOptions(const std::string& data_dir, bool* interval);
  void Fail(PowerLossReport* report, const std::string& what);

  PowerLossOptions options_;
  std::vector<Event> events_;
  std::vector<uint32_t> reference_;  // digest after the first n events, n = 0..events
  base::Rng rng_;
};

}  // namespace flywheel::bench
