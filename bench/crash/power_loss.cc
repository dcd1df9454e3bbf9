#include "crash/power_loss.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <span>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/env.h"
#include "io/fault_injection_env.h"

namespace flywheel::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kIntervalMs = 20;  // interval-mode cycles run with durability "interval:20"

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<Event> Stream(size_t n) {
  std::vector<Event> events;
  events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.user = "u" + std::to_string(i * 31 % 53);
    e.item = "i" + std::to_string((i * 17 + i / 7) % 89);
    e.type = i % 4 == 0 ? "purchase" : "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>(i) * 500;
    e.id = "e" + std::to_string(i);
    events.push_back(e);
  }
  return events;
}

EngineOptions BaseOptions(const std::string& dir, io::Env* env) {
  EngineOptions o;
  o.data_dir = dir;
  o.env = env;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  o.snapshot_on_close = false;
  return o;
}

nlohmann::json Distribution(std::vector<double> xs) {
  if (xs.empty()) {
    return nlohmann::json::object();
  }
  std::sort(xs.begin(), xs.end());
  auto at = [&](double q) {
    return xs[std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())))];
  };
  return {
      {"n", xs.size()}, {"p50", at(0.5)}, {"p90", at(0.9)}, {"p99", at(0.99)}, {"max", xs.back()}};
}

}  // namespace

// The client's view of one data directory.
struct PowerLossBench::DirState {
  std::string path;
  io::FaultInjectionEnv* env = nullptr;
  uint64_t promised = 0;  // events [0, promised) were promised durable
  uint64_t offered = 0;   // events [0, offered) were sent at least once
  bool crashed = false;   // a power loss happened since the last verified recovery
  // Interval mode: when each batch was acknowledged (events [0, end) then), and when the power
  // went, to check doc/engine.md's window for what a power loss may take.
  std::vector<std::pair<uint64_t, Clock::time_point>> interval_acks;
  Clock::time_point halted_at;
  bool window_pending = false;
};

std::string PowerLossReport::ToJson() const {
  nlohmann::json j = {
      {"power_losses", power_losses},
      {"crashes_in_recovery", crashes_in_recovery},
      {"crashes_in_ingest_or_snapshot", crashes_in_ingest},
      {"crashes_after_batches", crashes_between},
      {"verified_recoveries", verified_recoveries},
      {"interval_mode_cycles", interval_cycles},
      {"torn_tails",
       {{"none", torn_none}, {"cut", torn_cut}, {"zeros", torn_zeros}, {"garbage", torn_garbage}}},
      {"data_dirs", dirs},
      {"events_acknowledged", events_acknowledged},
      {"events_logged_before_acknowledgement", events_logged_unacknowledged},
      {"lost", lost},
      {"duplicated", duplicated},
      {"state_mismatches", state_mismatches},
      {"unrecoverable_restarts", unrecoverable},
      {"opened_with_skip_corruption", opened_with_skip_corruption},
      {"recovery_ms", Distribution(recovery_ms)},
      {"interval_window",
       {{"window_ms", kIntervalMs},
        {"power_losses_that_lost_acknowledged_events", interval_lost_age_ms.size()},
        {"acknowledged_events_lost", interval_acked_lost},
        {"oldest_lost_acknowledgement_age_ms", Distribution(interval_lost_age_ms)},
        {"older_than_the_window", interval_window_exceeded}}},
      {"failures", failures.size() > 20
                       ? std::vector<std::string>(failures.begin(), failures.begin() + 20)
                       : failures},
      {"failure_count", failures.size()},
      {"seconds", seconds}};
  return j.dump(1);
}

PowerLossBench::PowerLossBench(PowerLossOptions options)
    : options_(std::move(options)), rng_(options_.seed) {}

PowerLossBench::~PowerLossBench() = default;

void PowerLossBench::Fail(PowerLossReport* report, const std::string& what) {
  if (options_.verbose) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
  report->failures.push_back(what);
}

// One engine over the whole stream, one event at a time, nothing injected: the digest after
// each prefix.
Status PowerLossBench::ComputeReference() {
  events_ = Stream(options_.events_per_dir);
  const std::string dir = options_.work_dir + "/reference";
  std::filesystem::remove_all(dir);
  io::FaultInjectionEnv env(io::Env::Default());
  env.set_forward_syncs(false);  // durability is not what the reference is for
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(BaseOptions(dir, &env)));
  reference_.clear();
  FLYWHEEL_ASSIGN_OR_RETURN(uint32_t empty, engine->StateDigest());
  reference_.push_back(empty);
  for (size_t i = 0; i < events_.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(engine->Ingest(std::span(events_).subspan(i, 1)).status());
    FLYWHEEL_RETURN_IF_ERROR(engine->WaitForApplied(i + 1, 60000));
    FLYWHEEL_ASSIGN_OR_RETURN(uint32_t digest, engine->StateDigest());
    reference_.push_back(digest);
  }
  engine.reset();
  std::filesystem::remove_all(dir);
  return Status::Ok();
}

EngineOptions PowerLossBench::RandomOptions(const std::string& data_dir, bool* interval) {
  EngineOptions o = BaseOptions(data_dir, nullptr);
  *interval = rng_.Uniform(10) < 3;
  o.durability = *interval ? "interval:" + std::to_string(kIntervalMs) : "sync";
  static constexpr uint64_t kSnapshotEvery[] = {0, 0, 40, 150};
  static constexpr uint64_t kSegmentBytes[] = {1024, 4096, 65536};
  o.snapshot_every = kSnapshotEvery[rng_.Uniform(4)];
  o.keep_snapshots = 2 + static_cast<int>(rng_.Uniform(2));
  o.segment_bytes = kSegmentBytes[rng_.Uniform(3)];
  return o;
}

// After a power loss and a successful Open: nothing promised lost, nothing invented, the state of
// an uninterrupted run over the events the log kept.
void PowerLossBench::Verify(Engine* engine, DirState* dir, PowerLossReport* report) {
  const EngineStats s = engine->stats();
  const uint64_t last = s.last_seq;
  const std::string where = dir->path + " after power loss " + std::to_string(report->power_losses);
  if (last < dir->promised) {
    report->lost += dir->promised - last;
    Fail(report, where + ": " + std::to_string(dir->promised - last) +
                     " acknowledged events lost (log holds " + std::to_string(last) + " of " +
                     std::to_string(dir->promised) + " promised)");
  }
  if (last > dir->offered) {
    report->duplicated += last - dir->offered;
    Fail(report, where + ": the log holds " + std::to_string(last) + " events, only " +
                     std::to_string(dir->offered) + " were ever offered");
    return;
  }
  report->events_logged_unacknowledged += last > dir->promised ? last - dir->promised : 0;
  Status applied = engine->WaitForApplied(last, 60000);
  if (!applied.ok()) {
    Fail(report, where + ": " + applied.ToString());
    return;
  }
  auto digest = engine->StateDigest();
  if (!digest.ok() || *digest != reference_[last]) {
    ++report->state_mismatches;
    Fail(report, where + ": state differs from an uninterrupted run over the first " +
                     std::to_string(last) + " events");
  }
  // A sample of older ids must be known (the idempotency window survived the crash): resending
  // them is all duplicates, nothing logged.
  if (last > 0) {
    std::vector<Event> sample;
    for (int i = 0; i < 8; ++i) {
      sample.push_back(events_[rng_.Uniform(last)]);
    }
    auto r = engine->Ingest(sample);
    if (r.ok() && (r->accepted != 0 || r->last_seq != last)) {
      report->duplicated += r->accepted;
      Fail(report,
           where + ": " + std::to_string(r->accepted) + " of 8 logged events were accepted again");
    }
  }
  if (dir->window_pending) {
    CheckIntervalWindow(last, dir, report);
  }
  ++report->verified_recoveries;
}

// doc/engine.md: in interval mode "a power loss loses at most the last <ms> plus two fdatasync
// durations" (the simulated fdatasyncs take microseconds): every acknowledged batch the log lost
// must have been acknowledged within that window before the power went.
void PowerLossBench::CheckIntervalWindow(uint64_t last, DirState* dir, PowerLossReport* report) {
  for (const auto& [end, acked_at] : dir->interval_acks) {
    if (end <= last) {
      continue;
    }
    const double age_ms =
        std::chrono::duration<double, std::milli>(dir->halted_at - acked_at).count();
    report->interval_lost_age_ms.push_back(age_ms);  // the oldest lost batch
    report->interval_acked_lost += dir->interval_acks.back().first - last;
    if (age_ms > kIntervalMs) {
      ++report->interval_window_exceeded;
    }
    break;
  }
  dir->interval_acks.clear();
  dir->window_pending = false;
}

// The client resends from its promised frontier (everything after it is in doubt) in random
// batches until the file system stops (or it has sent a few batches; then the power goes).
void PowerLossBench::IngestUntilCrash(Engine* engine, bool interval, DirState* dir,
                                      PowerLossReport* report) {
  uint64_t known = engine->stats().last_seq;  // events the log holds
  uint64_t next = dir->promised;
  const uint64_t batches = 1 + rng_.Uniform(12);
  bool counted = false;
  for (uint64_t b = 0; b < batches && next < events_.size(); ++b) {
    const uint64_t end = std::min<uint64_t>(events_.size(), next + 1 + rng_.Uniform(30));
    auto r = engine->Ingest(std::span(events_).subspan(next, end - next));
    dir->offered = std::max(dir->offered, end);
    if (!r.ok()) {
      if (!dir->env->halted()) {
        Fail(report,
             dir->path + ": Ingest failed without an injected crash: " + r.status().ToString());
      }
      ++report->crashes_in_ingest;
      counted = true;
      break;
    }
    // Exactly once by id: the ones the log already held are duplicates, the rest are new.
    const uint64_t dups = known > next ? std::min(known, end) - next : 0;
    if (r->duplicates != dups || r->accepted != (end - next) - dups ||
        r->last_seq != std::max(known, end)) {
      report->duplicated +=
          r->accepted > (end - next) - dups ? r->accepted - (end - next - dups) : 0;
      Fail(report, dir->path + ": resending events [" + std::to_string(next) + ", " +
                       std::to_string(end) + ") with " + std::to_string(known) +
                       " logged: accepted " + std::to_string(r->accepted) + ", duplicates " +
                       std::to_string(r->duplicates) + ", last_seq " + std::to_string(r->last_seq));
      known = r->last_seq;
      break;
    }
    known = r->last_seq;
    if (interval) {
      dir->interval_acks.emplace_back(end, Clock::now());
      // Spread the batches over a few sync intervals, so that syncs happen between them.
      std::this_thread::sleep_for(std::chrono::milliseconds(rng_.Uniform(kIntervalMs / 2)));
    }
    if (!interval && end > dir->promised) {
      report->events_acknowledged += end - dir->promised;
      dir->promised = end;
    }
    next = end;
  }
  if (interval) {
    const uint64_t durable = std::min<uint64_t>(engine->stats().durable_seq, known);
    if (durable > dir->promised) {
      report->events_acknowledged += durable - dir->promised;
      dir->promised = durable;
    }
  }
  if (!dir->env->halted()) {
    ++report->crashes_between;
  } else if (!counted) {
    ++report->crashes_in_ingest;  // a snapshot of the learner, or the interval sync thread
  }
}

Status PowerLossBench::RunDir(int dir_index, int cycles, PowerLossReport* report) {
  DirState dir;
  dir.path = options_.work_dir + "/dir-" + std::to_string(dir_index);
  std::filesystem::remove_all(dir.path);
  io::FaultInjectionEnv env(io::Env::Default());
  env.set_forward_syncs(false);  // durability is simulated: SimulateCrash keeps what was synced
  // Unsynced renames and removals may be undone by the crash.
  env.set_undo_unsynced_names(true, options_.dir_ops_in_order);
  dir.env = &env;
  ++report->dirs;
  for (int cycle = 0; cycle <= cycles; ++cycle) {
    const bool last = cycle == cycles;
    env.Reactivate();
    env.CrashAtNthOperation(
        last ? 0 : 1 + static_cast<int>(rng_.Uniform(options_.max_crash_operation)));
    bool interval = false;
    EngineOptions opts = RandomOptions(dir.path, &interval);
    opts.env = &env;
    const auto start = Clock::now();
    auto engine = Engine::Open(opts);
    const double open_ms = MsSince(start);
    if (!engine.ok() && !env.halted()) {
      ++report->unrecoverable;
      Fail(report, dir.path + ": Open failed after power loss " +
                       std::to_string(report->power_losses) + ": " + engine.status().ToString());
      // What an operator would do next: are the acknowledged events still there?
      opts.skip_corruption = true;
      env.CrashAtNthOperation(0);
      engine = Engine::Open(opts);
      if (!engine.ok()) {
        Fail(report, dir.path + ": and with skip_corruption: " + engine.status().ToString());
        return Status::Ok();  // the directory is lost; the next one starts fresh
      }
      ++report->opened_with_skip_corruption;
    }
    if (engine.ok()) {
      if (dir.crashed) {
        report->recovery_ms.push_back(open_ms);
        Verify(engine->get(), &dir, report);
        dir.crashed = false;
      }
      if (last) {
        break;
      }
      report->interval_cycles += interval ? 1 : 0;
      IngestUntilCrash(engine->get(), interval, &dir, report);
    } else {
      ++report->crashes_in_recovery;
    }
    env.Halt();
    if (!dir.interval_acks.empty() && !dir.window_pending) {
      dir.halted_at = env.halted_at();
      dir.window_pending = true;
    }
    if (engine.ok()) {
      engine->reset();  // its threads stop; the file system refuses any more I/O
    }
    const uint64_t kind = rng_.Uniform(4);
    env.set_torn_tail(kind == 2   ? io::FaultInjectionEnv::TornTail::kZeros
                      : kind == 3 ? io::FaultInjectionEnv::TornTail::kGarbage
                                  : io::FaultInjectionEnv::TornTail::kCut);
    const uint64_t seed = kind == 0 ? 0 : 1 + rng_.Uniform(uint64_t{1} << 62);
    (kind == 0   ? report->torn_none
     : kind == 1 ? report->torn_cut
     : kind == 2 ? report->torn_zeros
                 : report->torn_garbage)++;
    FLYWHEEL_RETURN_IF_ERROR(env.SimulateCrash(seed));
    ++report->power_losses;
    dir.crashed = true;
    if (options_.after_crash) {
      options_.after_crash(dir.path);
    }
  }
  FinishDir(&dir, report);
  return Status::Ok();
}

// Finishes a directory without faults: every event, retried from the start, lands once.
void PowerLossBench::FinishDir(DirState* dir_state, PowerLossReport* report) {
  const DirState& dir = *dir_state;
  io::FaultInjectionEnv& env = *dir.env;
  env.Reactivate();
  env.CrashAtNthOperation(0);
  auto engine = Engine::Open(BaseOptions(dir.path, &env));
  if (!engine.ok()) {
    Fail(report, dir.path + ": final Open failed: " + engine.status().ToString());
    return;
  }
  const uint64_t had = std::min<uint64_t>((*engine)->stats().last_seq, events_.size());
  auto r = (*engine)->Ingest(events_);
  if (!r.ok() || r->last_seq != events_.size() || r->accepted + had != events_.size()) {
    Fail(report, dir.path + ": final resend of every event: " +
                     (r.ok() ? "accepted " + std::to_string(r->accepted) + ", last_seq " +
                                   std::to_string(r->last_seq)
                             : r.status().ToString()));
  } else if (Status s = (*engine)->WaitForApplied(events_.size(), 60000); !s.ok()) {
    Fail(report, dir.path + ": " + s.ToString());
  } else if (auto d = (*engine)->StateDigest(); !d.ok() || *d != reference_.back()) {
    ++report->state_mismatches;
    Fail(report, dir.path + ": final state differs from the uninterrupted run");
  }
  engine->reset();
  std::filesystem::remove_all(dir.path);
}

Result<PowerLossReport> PowerLossBench::Run() {
  const auto start = Clock::now();
  std::error_code ec;
  std::filesystem::create_directories(options_.work_dir, ec);
  if (ec) {
    return Status::IoError("cannot create " + options_.work_dir + ": " + ec.message());
  }
  FLYWHEEL_RETURN_IF_ERROR(ComputeReference());
  PowerLossReport report;
  int done = 0;
  for (int d = 0; done < options_.cycles; ++d) {
    const int n = std::min(options_.cycles_per_dir, options_.cycles - done);
    FLYWHEEL_RETURN_IF_ERROR(RunDir(d, n, &report));
    done += n;
    if (options_.verbose) {
      std::fprintf(stderr, "dir %d: %d power losses, %zu failures, %.1f s\n", d,
                   report.power_losses, report.failures.size(), MsSince(start) / 1000);
    }
  }
  report.seconds = MsSince(start) / 1000;
  return report;
}

}  // namespace flywheel::bench
