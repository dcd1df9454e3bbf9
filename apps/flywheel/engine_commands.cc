// flywheel ingest | inspect | snapshot: the engine's command line (doc/engine.md).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "base/strings.h"
#include "commands.h"
#include "data/dataset.h"
#include "data/event_json.h"
#include "engine/store/snapshot_file.h"
#include "flags.h"
#include "io/env.h"
#include "server/recovery_json.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

int Help(const Flags& flags) {
  std::fputs(flags.Usage().c_str(), stdout);
  return 0;
}

// Events from a JSON Lines stream (stdin or a file) or a dataset spec (kind:path).
class EventSource {
 public:
  // Events are validated against `types` (the engine's).
  static Result<std::unique_ptr<EventSource>> Open(const std::string& source, int64_t skip_bad,
                                                   const EventTypeTable& types) {
    auto out = std::unique_ptr<EventSource>(new EventSource());
    out->skip_bad_ = skip_bad;
    out->types_ = types;
    if (source == "-") {
      out->in_ = &std::cin;
      out->name_ = "stdin";
      return out;
    }
    std::string spec = source;
    if (source.find(':') == std::string::npos) {
      spec = "events:" + source;  // a plain file: JSON Lines or CSV by extension
    }
    FLYWHEEL_ASSIGN_OR_RETURN(data::DatasetSpec parsed, data::ParseDatasetSpec(spec));
    data::SkipPolicy skip;
    skip.max_skipped = skip_bad;
    FLYWHEEL_ASSIGN_OR_RETURN(out->reader_, data::OpenReader(parsed, out->types_, skip));
    out->name_ = spec;
    return out;
  }

  Result<bool> Next(Event* event) {
    if (reader_ != nullptr) {
      return reader_->Next(event);
    }
    std::string line;
    while (std::getline(*in_, line)) {
      ++line_number_;
      if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) {
        continue;
      }
      Result<Event> parsed = data::ParseEventJson(line, types_);
      if (parsed.ok()) {
        *event = std::move(parsed).value();
        return true;
      }
      if (skipped_ < skip_bad_) {
        ++skipped_;
        continue;
      }
      return Status::InvalidArgument(name_ + ":" + std::to_string(line_number_) + ": " +
                                     parsed.status().message());
    }
    return false;
  }

  int64_t skipped() const { return reader_ != nullptr ? reader_->stats().skipped : skipped_; }

 private:
  EventSource() = default;
  std::istream* in_ = nullptr;
  std::unique_ptr<data::EventReader> reader_;
  EventTypeTable types_ = EventTypeTable::Default();
  std::string name_;
  int64_t line_number_ = 0;
  int64_t skip_bad_ = 0;
  int64_t skipped_ = 0;
};

void PrintAck(uint64_t seq) {
  std::printf("{\"acked_through\": %llu}\n", static_cast<unsigned long long>(seq));
  std::fflush(stdout);
}

// The input is opened before the engine (a missing file must not leave a new data directory
// behind) with the types the flag gives, and again with the engine's when the data directory
// stores more.
Status OpenInputAndEngine(const std::string& input, int64_t skip_bad, const EngineOptions& options,
                          std::unique_ptr<Engine>* engine, std::unique_ptr<EventSource>* source) {
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable flag_types, EventTypeTable::Parse(options.event_types));
  FLYWHEEL_ASSIGN_OR_RETURN(*source, EventSource::Open(input, skip_bad, flag_types));
  FLYWHEEL_ASSIGN_OR_RETURN(*engine, Engine::Open(options));
  if ((*engine)->event_types().Names() != flag_types.Names()) {
    FLYWHEEL_ASSIGN_OR_RETURN(*source,
                              EventSource::Open(input, skip_bad, (*engine)->event_types()));
  }
  return Status::Ok();
}

Status RunIngest(const Flags& flags) {
  if (!flags.Has("data-dir")) {
    return Status::InvalidArgument("ingest: --data-dir is required");
  }
  if (flags.positional().size() != 1) {
    return Status::InvalidArgument("ingest: expected one input (FILE, KIND:PATH or -)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t batch_size, flags.GetInt("batch"));
  if (batch_size < 1 || batch_size > 1'000'000) {
    return Status::InvalidArgument("--batch must be in 1..1000000");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t snapshot_every, flags.GetInt("snapshot-every"));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t skip_bad, flags.GetInt("skip-bad"));
  if (snapshot_every < 0 || skip_bad < 0) {
    return Status::InvalidArgument("--snapshot-every and --skip-bad must be >= 0");
  }
  EngineOptions options;
  options.data_dir = flags.Get("data-dir");
  options.durability = flags.Get("durability");
  FLYWHEEL_ASSIGN_OR_RETURN(options.models, ParseModelSpecs(flags));
  options.snapshot_every = static_cast<uint64_t>(snapshot_every);
  options.snapshot_on_close = !flags.GetBool("no-snapshot");
  options.skip_corruption = flags.GetBool("skip-corruption");
  options.event_types = flags.Get("event-types");
  FLYWHEEL_RETURN_IF_ERROR(ParseRatingThreshold(flags, &options.rating_threshold));
  std::unique_ptr<Engine> engine;
  std::unique_ptr<EventSource> source;
  FLYWHEEL_RETURN_IF_ERROR(
      OpenInputAndEngine(flags.positional()[0], skip_bad, options, &engine, &source));
  const bool sync_mode = options.durability == "sync";
  const auto start = std::chrono::steady_clock::now();
  std::vector<Event> batch;
  batch.reserve(static_cast<size_t>(batch_size));
  uint64_t acked = engine->stats().last_seq;
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) {
      return Status::Ok();
    }
    FLYWHEEL_ASSIGN_OR_RETURN(IngestResult r, engine->Ingest(batch));
    accepted += r.accepted;
    duplicates += r.duplicates;
    batch.clear();
    // Acknowledge only what is durable: everything in sync mode, the synced prefix otherwise.
    const uint64_t durable = sync_mode ? r.last_seq : engine->stats().durable_seq;
    if (durable > acked || (sync_mode && r.accepted == 0)) {
      acked = std::max(acked, durable);
      PrintAck(acked);
    }
    return Status::Ok();
  };
  Event event;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool more, source->Next(&event));
    if (!more) {
      break;
    }
    batch.push_back(std::move(event));
    if (batch.size() == static_cast<size_t>(batch_size)) {
      FLYWHEEL_RETURN_IF_ERROR(flush());
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(flush());
  const uint64_t last = engine->stats().last_seq;
  FLYWHEEL_RETURN_IF_ERROR(engine->Close());  // syncs the log
  if (last > acked) {
    PrintAck(last);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "ingest: %llu events logged, %llu duplicates, %lld bad lines skipped, last seq "
               "%llu, %.2f s (%.0f events/s)\n",
               static_cast<unsigned long long>(accepted),
               static_cast<unsigned long long>(duplicates),
               static_cast<long long>(source->skipped()), static_cast<unsigned long long>(last),
               seconds, seconds > 0 ? static_cast<double>(accepted) / seconds : 0.0);
  return Status::Ok();
}

Status RunInspect(const Flags& flags) {
  if (!flags.Has("data-dir")) {
    return Status::InvalidArgument("inspect: --data-dir is required");
  }
  EngineOptions options;
  options.data_dir = flags.Get("data-dir");
  options.read_only = true;
  options.skip_corruption = flags.GetBool("skip-corruption");
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options));
  const EngineStats s = engine->stats();
  io::Env* env = io::Env::Default();
  json doc;
  doc["data_dir"] = options.data_dir;
  doc["events"] = s.last_seq;
  doc["last_seq"] = s.last_seq;
  doc["users"] = s.users;
  doc["items"] = s.items;
  json snapshots = json::array();
  const std::string snapshot_dir = io::JoinPath(options.data_dir, "snapshots");
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, engine::ListSnapshots(env, snapshot_dir));
  for (uint64_t seq : seqs) {
    const std::string file = engine::SnapshotFileName(seq);
    FLYWHEEL_ASSIGN_OR_RETURN(uint64_t bytes, env->FileSize(io::JoinPath(snapshot_dir, file)));
    snapshots.push_back({{"seq", seq}, {"file", file}, {"bytes", bytes}});
  }
  doc["snapshots"] = snapshots;
  json models = json::array();
  for (const std::string& name : s.models) {
    models.push_back({{"name", name}, {"version", name + "@" + std::to_string(s.applied_seq)}});
  }
  doc["models"] = models;
  uint64_t wal_bytes = 0;
  uint64_t segments = 0;
  const std::string wal_dir = io::JoinPath(options.data_dir, "wal");
  if (env->FileExists(wal_dir)) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(wal_dir));
    for (const std::string& name : names) {
      FLYWHEEL_ASSIGN_OR_RETURN(uint64_t bytes, env->FileSize(io::JoinPath(wal_dir, name)));
      wal_bytes += bytes;
      ++segments;
    }
  }
  doc["wal"] = {{"segments", segments}, {"bytes", wal_bytes}};
  doc["recovery"] = server::RecoveryReportJson(s.recovery);
  std::printf("%s\n", doc.dump(2).c_str());
  return Status::Ok();
}

// Opens an existing data directory for a maintenance command (writer, no snapshot on close).
Result<std::unique_ptr<Engine>> OpenDataDir(const Flags& flags, const std::string& command) {
  if (!flags.Has("data-dir")) {
    return Status::InvalidArgument(command + ": --data-dir is required");
  }
  EngineOptions options;
  options.data_dir = flags.Get("data-dir");
  options.snapshot_on_close = false;
  options.skip_corruption = flags.GetBool("skip-corruption");
  if (!io::Env::Default()->FileExists(io::JoinPath(options.data_dir, "engine.json"))) {
    return Status::NotFound(command + ": " + options.data_dir +
                            " is not a Flywheel data directory");
  }
  return Engine::Open(options);
}

Status RunSnapshot(const Flags& flags) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenDataDir(flags, "snapshot"));
  FLYWHEEL_ASSIGN_OR_RETURN(uint64_t seq, engine->Snapshot());
  FLYWHEEL_RETURN_IF_ERROR(engine->Close());
  const json doc = {{"snapshot_seq", seq},
                    {"file", io::JoinPath(io::JoinPath(flags.Get("data-dir"), "snapshots"),
                                          engine::SnapshotFileName(seq))}};
  std::printf("%s\n", doc.dump().c_str());
  return Status::Ok();
}

Status RunPretrain(const Flags& flags) {
  if (!flags.Has("model")) {
    return Status::InvalidArgument("pretrain: --model is required");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenDataDir(flags, "pretrain"));
  FLYWHEEL_ASSIGN_OR_RETURN(PretrainResult r, engine->Pretrain(flags.Get("model")));
  FLYWHEEL_RETURN_IF_ERROR(engine->Close());
  const json doc = {{"model", r.model},
                    {"events", r.events},
                    {"skipped", r.skipped},
                    {"first_seq", r.first_seq},
                    {"through_seq", r.through_seq},
                    {"fit_seconds", r.seconds},
                    {"snapshot_seq", r.snapshot_seq}};
  std::printf("%s\n", doc.dump().c_str());
  return Status::Ok();
}

}  // namespace

int RunCommand(Flags flags, int argc, char** argv, Status (*fn)(const Flags&)) {
  if (Status status = flags.Parse(argc, argv, 2); !status.ok()) {
    return Fail(status);
  }
  if (flags.help()) {
    return Help(flags);
  }
  Status status = fn(flags);
  return status.ok() ? 0 : Fail(status);
}

int Fail(const Status& status) {
  std::fprintf(stderr, "flywheel: %s\n", status.message().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int IngestMain(int argc, char** argv) {
  Flags flags(
      "ingest",
      "Appends events durably to a data directory and learns from them. Input: FILE (JSON "
      "Lines or CSV), KIND:PATH (any dataset of 'eval'), or - for JSON Lines on stdin. After "
      "each batch becomes durable, prints {\"acked_through\": SEQ} on stdout.",
      {{"data-dir", "DIR", "the data directory (created if missing)", ""},
       {"durability", "MODE", "sync | interval:<ms>", "sync"},
       {"batch", "N", "events per batch (one log append and fdatasync each)", "1000"},
       {"models", "LIST", "models for a new data directory (default: the directory's, or pop)", ""},
       {"param", "MODEL.KEY=VALUE", "model parameter (all: flywheel models NAME)", "", true},
       {"event-types", "SPEC",
        "event type weights on top of the defaults, e.g. wishlist=2,view=0.3 (stored in the "
        "data directory; doc/config.md)",
        ""},
       {"snapshot-every", "N",
        "write a snapshot every N applied events (0: no count limit; one is also written 5 min "
        "after the last and at the end)",
        "0"},
       {"no-snapshot", "", "do not write a snapshot when done", ""},
       {"skip-bad", "N", "skip up to N malformed input lines instead of failing", "0"},
       {"skip-corruption", "", "recover past damaged log spans (their events are lost)", ""},
       RatingThresholdFlag()});
  return RunCommand(std::move(flags), argc, argv, RunIngest);
}

int InspectMain(int argc, char** argv) {
  Flags flags("inspect",
              "Recovers a data directory read-only and prints a JSON summary (events, last_seq, "
              "snapshots, users, items, models, the recovery report). Runs the checks serve "
              "runs at start: exits 1 with serve's message where serve would refuse.",
              {{"data-dir", "DIR", "the data directory", ""},
               {"skip-corruption", "", "recover past damaged log spans", ""}});
  return RunCommand(std::move(flags), argc, argv, RunInspect);
}

int SnapshotMain(int argc, char** argv) {
  Flags flags("snapshot", "Writes a snapshot of a data directory's learned state now.",
              {{"data-dir", "DIR", "the data directory", ""},
               {"skip-corruption", "", "recover past damaged log spans", ""}});
  return RunCommand(std::move(flags), argc, argv, RunSnapshot);
}

int PretrainMain(int argc, char** argv) {
  Flags flags("pretrain",
              "Batch pre-training: fits a fresh instance of one of the data directory's models on "
              "the events in its log, puts it in place (it then keeps learning online) and writes "
              "a snapshot. Run it while no server uses the directory. Prints a JSON summary.",
              {{"data-dir", "DIR", "the data directory", ""},
               {"model", "NAME", "the configured model to pre-train (e.g. sasrec)", ""},
               {"skip-corruption", "", "recover past damaged log spans", ""}});
  return RunCommand(std::move(flags), argc, argv, RunPretrain);
}

}  // namespace flywheel::cli
