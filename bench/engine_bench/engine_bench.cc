// flywheel_engine_bench: the durable engine end to end (db_bench style), on the real file system.
//
//   flywheel_engine_bench ingest --durability sync|interval:<ms> --batch N --events M --dir D
//                         [--models LIST] [--users U --items I]
//     Ingests M synthetic events (data/synthetic.h stream, with ids) in batches of N through
//     Engine::Ingest, timing each call: in sync mode its return is the acknowledgement (after
//     fdatasync); in interval mode it returns after write() and the batch is durable within the
//     interval (the documented loss window). Then waits for the learner to apply everything.
//     Prints one JSON line: events/s through Ingest, Ingest latency p50/p99/max (us), learner
//     lag when ingestion ended, and events/s until everything was applied.
//
//   flywheel_engine_bench recovery --events M --dir D [--snapshot-at K] [--models LIST]
//     Builds a data directory with M events (interval:100 mode, fast), optionally a snapshot
//     after the first K, then times Engine::Open (snapshot load + log replay). Prints JSON.
//
//   Both take [--snapshot-every N] [--snapshot-interval-ms MS]: the automatic snapshot policy
//   (default: EngineOptions' defaults; 0 and 0: none, the engine before issue 17).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "data/synthetic.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string command;
  std::string durability = "sync";
  uint64_t batch = 1000;
  uint64_t events = 1000000;
  uint64_t snapshot_at = 0;
  uint64_t snapshot_every = flywheel::EngineOptions{}.snapshot_every;
  uint64_t snapshot_interval_ms = flywheel::EngineOptions{}.snapshot_interval_ms;
  uint64_t users = 100000;
  uint64_t items = 50000;
  std::string dir = "/tmp/flywheel-engine-bench";
  std::string models = "pop";
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "error: %s\nusage: flywheel_engine_bench ingest|recovery [--durability MODE] "
               "[--batch N] [--events M] [--dir D] [--snapshot-at K] [--models LIST] "
               "[--users U] [--items I] [--snapshot-every N] [--snapshot-interval-ms MS]\n",
               message);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  if (argc < 2) {
    Usage("missing command");
  }
  Flags flags;
  flags.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) {
      Usage("missing value for a flag");
    }
    const std::string value = argv[++i];
    auto number = [&] { return std::strtoull(value.c_str(), nullptr, 10); };
    if (name == "--durability") {
      flags.durability = value;
    } else if (name == "--batch") {
      flags.batch = number();
    } else if (name == "--events") {
      flags.events = number();
    } else if (name == "--snapshot-at") {
      flags.snapshot_at = number();
    } else if (name == "--snapshot-every") {
      flags.snapshot_every = number();
    } else if (name == "--snapshot-interval-ms") {
      flags.snapshot_interval_ms = number();
    } else if (name == "--users") {
      flags.users = number();
    } else if (name == "--items") {
      flags.items = number();
    } else if (name == "--dir") {
      flags.dir = value;
    } else if (name == "--models") {
      flags.models = value;
    } else {
      Usage("unknown flag");
    }
  }
  if (flags.batch == 0 || flags.events == 0) {
    Usage("--batch and --events must be > 0");
  }
  return flags;
}

std::vector<flywheel::ModelSpec> Models(const std::string& list) {
  std::vector<flywheel::ModelSpec> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    out.push_back(flywheel::ModelSpec{list.substr(start, comma - start), {}});
    start = comma + 1;
  }
  return out;
}

template <typename T>
T Check(flywheel::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void Check(const flywheel::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// The synthetic stream with an id on every event.
std::vector<flywheel::Event> MakeEvents(const Flags& flags) {
  const std::map<std::string, std::string> params = {{"users", std::to_string(flags.users)},
                                                     {"items", std::to_string(flags.items)},
                                                     {"events", std::to_string(flags.events)},
                                                     {"seed", "7"}};
  auto options = Check(flywheel::data::SyntheticOptions::FromParams(params), "synthetic");
  auto reader = Check(flywheel::data::OpenSynthetic(options), "synthetic");
  std::vector<flywheel::Event> events;
  events.reserve(flags.events);
  flywheel::Event e;
  while (Check(reader->Next(&e), "synthetic")) {
    e.id = "e" + std::to_string(events.size());
    events.push_back(e);
  }
  return events;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

flywheel::EngineOptions Options(const Flags& flags, const std::string& durability) {
  flywheel::EngineOptions o;
  o.data_dir = flags.dir;
  o.durability = durability;
  o.models = Models(flags.models);
  o.snapshot_on_close = false;
  o.snapshot_every = flags.snapshot_every;
  o.snapshot_interval_ms = flags.snapshot_interval_ms;
  return o;
}

int RunIngest(const Flags& flags) {
  std::filesystem::remove_all(flags.dir);
  const auto events = MakeEvents(flags);
  auto engine = Check(flywheel::Engine::Open(Options(flags, flags.durability)), "open");
  std::vector<double> latency_us;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < events.size(); i += flags.batch) {
    const size_t n = std::min<size_t>(flags.batch, events.size() - i);
    const auto t0 = Clock::now();
    Check(engine->Ingest(std::span(events).subspan(i, n)).status(), "ingest");
    latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double ingest_s = std::chrono::duration<double>(Clock::now() - start).count();
  const uint64_t applied_at_end = engine->stats().applied_seq;
  Check(engine->WaitForApplied(events.size(), 3'600'000), "learner");
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  Check(engine->Close(), "close");
  std::printf(
      "{\"command\":\"ingest\",\"durability\":\"%s\",\"batch\":%llu,\"events\":%zu,"
      "\"models\":\"%s\",\"ingest_events_per_s\":%.0f,\"ack_us_p50\":%.1f,\"ack_us_p99\":%.1f,"
      "\"ack_us_max\":%.1f,\"learner_lag_at_end\":%llu,\"applied_events_per_s\":%.0f}\n",
      flags.durability.c_str(), static_cast<unsigned long long>(flags.batch), events.size(),
      flags.models.c_str(), static_cast<double>(events.size()) / ingest_s,
      Percentile(latency_us, 0.5), Percentile(latency_us, 0.99), Percentile(latency_us, 1.0),
      static_cast<unsigned long long>(events.size() - applied_at_end),
      static_cast<double>(events.size()) / total_s);
  return 0;
}

int RunRecovery(const Flags& flags) {
  std::filesystem::remove_all(flags.dir);
  const auto events = MakeEvents(flags);
  const auto build_start = Clock::now();
  uint64_t snapshots_written = 0;
  {
    auto engine = Check(flywheel::Engine::Open(Options(flags, "interval:100")), "open");
    for (uint64_t i = 0; i < events.size(); i += 10000) {
      const size_t n = std::min<size_t>(10000, events.size() - i);
      Check(engine->Ingest(std::span(events).subspan(i, n)).status(), "ingest");
      if (flags.snapshot_at > 0 && i + n == flags.snapshot_at) {
        Check(engine->WaitForApplied(flags.snapshot_at, 3'600'000), "learner");
        Check(engine->Snapshot().status(), "snapshot");
      }
    }
    Check(engine->WaitForApplied(events.size(), 3'600'000), "learner");
    snapshots_written = engine->stats().snapshots_written;
    Check(engine->Close(), "close");
  }
  const double build_s = std::chrono::duration<double>(Clock::now() - build_start).count();
  uint64_t log_bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(flags.dir + "/wal")) {
    log_bytes += entry.file_size();
  }
  const auto start = Clock::now();
  auto engine = Check(flywheel::Engine::Open(Options(flags, "sync")), "recover");
  const double open_s = std::chrono::duration<double>(Clock::now() - start).count();
  const flywheel::EngineStats s = engine->stats();
  std::printf(
      "{\"command\":\"recovery\",\"events\":%zu,\"models\":\"%s\",\"snapshot_seq\":%llu,"
      "\"replayed_events\":%llu,\"log_bytes\":%llu,\"open_seconds\":%.2f,"
      "\"replayed_events_per_s\":%.0f,\"build_seconds\":%.1f,\"snapshot_every\":%llu,"
      "\"snapshot_interval_ms\":%llu,\"snapshots_during_build\":%llu}\n",
      events.size(), flags.models.c_str(),
      static_cast<unsigned long long>(s.recovered_snapshot_seq),
      static_cast<unsigned long long>(s.replayed_events),
      static_cast<unsigned long long>(log_bytes), open_s,
      open_s > 0 ? static_cast<double>(s.replayed_events) / open_s : 0.0, build_s,
      static_cast<unsigned long long>(flags.snapshot_every),
      static_cast<unsigned long long>(flags.snapshot_interval_ms),
      static_cast<unsigned long long>(snapshots_written));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  if (flags.command == "ingest") {
    return RunIngest(flags);
  }
  if (flags.command == "recovery") {
    return RunRecovery(flags);
  }
  Usage("command must be ingest or recovery");
}
