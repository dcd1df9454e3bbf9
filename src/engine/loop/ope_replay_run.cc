// flywheel::ReplayImpressions (include/flywheel/ope.h): the data directory's snapshot and log,
// read only, through a scratch LearnedState with the target models (ope_replay.h).
#include <algorithm>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>

#include "base/rw_lock.h"
#include "engine/config.h"
#include "engine/learn/learner.h"
#include "engine/loop/impression_record.h"
#include "engine/loop/ope_replay.h"
#include "engine/serve/pipeline.h"
#include "engine/store/snapshot_file.h"
#include "io/env.h"
#include "wal/log_reader.h"

namespace flywheel {
namespace {

using engine::LearnedState;

struct Directory {
  io::Env* env = nullptr;
  std::string dir;
  std::vector<ModelSpec> stored;  // the directory's models
  EventTypeTable types;
};

Result<Directory> ReadDirectory(const EngineOptions& options) {
  Directory d;
  d.env = options.env != nullptr ? options.env : io::Env::Default();
  d.dir = options.data_dir;
  if (d.dir.empty() || !d.env->FileExists(io::JoinPath(d.dir, engine::kConfigFileName))) {
    return Status::NotFound("ope: " + d.dir + " is not a Flywheel data directory");
  }
  // The file exists: nothing is validated or written, it is only read.
  FLYWHEEL_ASSIGN_OR_RETURN(
      d.stored, engine::LoadOrWriteConfig(
                    d.env, d.dir, {}, [](const std::vector<ModelSpec>&) { return Status::Ok(); }));
  FLYWHEEL_ASSIGN_OR_RETURN(
      const std::string spec,
      engine::LoadOrWriteEventTypes(d.env, d.dir, options.event_types, /*read_only=*/true));
  FLYWHEEL_ASSIGN_OR_RETURN(d.types, EventTypeTable::Parse(spec));
  FLYWHEEL_RETURN_IF_ERROR(d.types.set_rating_threshold(options.rating_threshold));
  return d;
}

// The first sequence number the log holds (0: empty).
Result<uint64_t> FirstLogSeq(const Directory& d) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(d.env, io::JoinPath(d.dir, "wal"), {}));
  wal::LogRecord record;
  FLYWHEEL_ASSIGN_OR_RETURN(const bool any, reader->Next(&record));
  return any ? record.seq : 0;
}

// Loads the oldest snapshot that loads into `state`; returns its sequence number. The log must
// hold everything after it (else kFailedPrecondition).
Result<uint64_t> LoadOldestSnapshot(const Directory& d, uint64_t first_log_seq, LearnedState* state)
    REQUIRES(state->mu) {
  const std::string snapshot_dir = io::JoinPath(d.dir, "snapshots");
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, engine::ListSnapshots(d.env, snapshot_dir));
  std::reverse(seqs.begin(), seqs.end());  // oldest first
  std::string last_error = "no snapshot";
  for (const uint64_t seq : seqs) {
    if (first_log_seq > seq + 1) {
      continue;  // the log no longer holds what follows it
    }
    const std::string name = engine::SnapshotFileName(seq);
    std::string bytes;
    Status st = io::ReadFileToString(d.env, io::JoinPath(snapshot_dir, name), &bytes);
    if (st.ok()) {
      Result<engine::SnapshotView> view = engine::DecodeSnapshot(bytes, name);
      st = view.ok() ? state->Load(*view, name) : view.status();
    }
    if (st.ok()) {
      return seq;
    }
    last_error = st.ToString();
    FLYWHEEL_RETURN_IF_ERROR(state->Reset());
  }
  return Status::FailedPrecondition(
      "ope: the log of " + d.dir + " starts at " + std::to_string(first_log_seq) +
      " and no snapshot before it loads with the target models (" + last_error +
      "); evaluate with the directory's models (no --models) or a directory whose log is whole");
}

// Pass 1: the impressions after `start` and the state (sequence number) each one was ranked
// with; an impression whose model_version is unknown, not after `start` or not before it is
// shown with the state just before its own record.
struct Schedule {
  std::unordered_map<uint64_t, Impression> impressions;  // by record seq
  std::map<uint64_t, std::vector<uint64_t>> after;       // state seq -> impression seqs
  uint64_t records = 0;
};

Result<Schedule> ReadImpressions(const Directory& d, uint64_t start) {
  Schedule s;
  wal::ReaderOptions options;
  options.start_seq = start + 1;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(d.env, io::JoinPath(d.dir, "wal"), options));
  wal::LogRecord record;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(const bool more, reader->Next(&record));
    if (!more) {
      break;
    }
    ++s.records;
    if (record.event.type != engine::kImpressionType) {
      continue;
    }
    Result<Impression> impression = engine::DecodeImpression(record.event);
    if (!impression.ok()) {
      continue;  // the learner counts it as a bad record
    }
    const uint64_t version = impression->model_version;
    const uint64_t at = version > start && version < record.seq ? version : record.seq - 1;
    s.after[at].push_back(record.seq);
    s.impressions.emplace(record.seq, std::move(*impression));
  }
  return s;
}

OpeList LoggedList(const Impression& impression) {
  OpeList list;
  list.user = impression.user;
  list.recommendation_id = impression.recommendation_id;
  list.ts_ms = impression.ts_ms;
  list.policy = impression.policy;
  for (const ShownItem& item : impression.items) {
    list.slots.push_back({item.item, item.position, item.propensity, item.step, 0.0, false});
  }
  return list;
}

// The target views of the impressions ranked with the state at `at` (just applied).
void ShowTargets(const Schedule& s, uint64_t at, const std::vector<engine::OpeTarget>& targets,
                 const OpeReplayOptions& options, const LearnedState& state,
                 engine::OpeCollector* collector) REQUIRES_SHARED(state.mu) {
  auto it = s.after.find(at);
  if (it == s.after.end()) {
    return;
  }
  for (const uint64_t seq : it->second) {
    const Impression& impression = s.impressions.at(seq);
    OpeList list = LoggedList(impression);
    for (const engine::OpeTarget& target : targets) {
      list.targets.push_back(engine::TargetView(state, options.engine.pipeline, target, impression,
                                                options.k, options.seed));
    }
    collector->Expect(seq, std::move(list));
  }
}

void Show(const Schedule& s, uint64_t at, const std::vector<engine::OpeTarget>& targets,
          const OpeReplayOptions& options, const LearnedState& state,
          engine::OpeCollector* collector) {
  if (!s.after.contains(at)) {
    return;
  }
  base::ReaderLock lock(&state.mu);
  ShowTargets(s, at, targets, options, state, collector);
}

}  // namespace

Result<OpeData> ReplayImpressions(const OpeReplayOptions& options) {
  FLYWHEEL_ASSIGN_OR_RETURN(const Directory d, ReadDirectory(options.engine));
  FLYWHEEL_RETURN_IF_ERROR(engine::ValidatePipelineOptions(options.engine.pipeline));
  const std::vector<ModelSpec> models =
      options.engine.models.empty() ? d.stored : options.engine.models;
  {
    std::vector<std::unique_ptr<model::Recommender>> probe;
    FLYWHEEL_RETURN_IF_ERROR(engine::CreateModels(models, &probe));
  }
  if (options.policies.empty()) {
    return Status::InvalidArgument("ope: no target policy");
  }
  LearnedState state(models, d.types, options.engine.user_history, options.engine.loop);
  engine::OpeCollector collector;
  std::vector<engine::OpeTarget> targets;
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t first, FirstLogSeq(d));
  uint64_t start = 0;
  {
    base::WriterLock lock(&state.mu);  // uncontended: this thread is the only one
    FLYWHEEL_RETURN_IF_ERROR(state.Reset());
    for (const std::string& spec : options.policies) {
      FLYWHEEL_ASSIGN_OR_RETURN(engine::OpeTarget target, engine::ParseOpeTarget(spec, state));
      targets.push_back(std::move(target));
    }
    if (first > 1) {
      FLYWHEEL_ASSIGN_OR_RETURN(start, LoadOldestSnapshot(d, first, &state));
    }
    state.attributor.AddListener(&collector);
  }
  state.RebuildTrending(options.engine.pipeline);
  FLYWHEEL_ASSIGN_OR_RETURN(const Schedule schedule, ReadImpressions(d, start));
  OpeData data;
  data.targets = options.policies;
  data.impressions = schedule.impressions.size();
  Show(schedule, start, targets, options, state, &collector);
  wal::ReaderOptions reader_options;
  reader_options.start_seq = start + 1;
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::unique_ptr<wal::LogReader> reader,
      wal::LogReader::Open(d.env, io::JoinPath(d.dir, "wal"), reader_options));
  wal::LogRecord record;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(const bool more, reader->Next(&record));
    if (!more) {
      break;
    }
    {
      base::WriterLock lock(&state.mu);
      state.Apply(record.event, record.seq);
    }
    if (data.records++ == 0) {
      data.first_seq = record.seq;
    }
    data.last_seq = record.seq;
    if (engine::Learner::TrendingDue(record.seq, record.event)) {
      state.RebuildTrending(options.engine.pipeline);
    }
    Show(schedule, record.seq, targets, options, state, &collector);
  }
  data.lists = collector.Take();
  data.unclosed = collector.open();
  return data;
}

}  // namespace flywheel
