// Engine: the public façade (include/flywheel/engine.h). It owns the engine's parts and wires
// them together; each part is a small class with its own header and contract (doc/engine.md,
// doc/architecture.md):
//
//   ingest/ingestor.h       validate, deduplicate, sequence, append durably, hand off
//   learn/learner.h         the learner thread: apply in log order, publish progress
//   learn/learned_state.h   everything learned: reset, save, load, apply
//   learn/pretrainer.h      batch warm start from the log
//   store/snapshots.h       snapshots: verified writes, retention, purges (+ snapshot_policy.h)
//   store/recovery.h        snapshot + log replay at open
//   serve/vector_indexer.h  the ANN indexes' thread
//   serve/query_runner.h    requests through the serving stages (serve/pipeline.h)
//   serve/inspector.h       user and item detail (the dashboard)
//   loop/impression_recorder.h  recommendation ids, the served-list cache, impressions
#include "flywheel/engine.h"

#include <cmath>
#include <memory>
#include <utility>

#include "flywheel/event_types.h"

#include "base/crc32c.h"
#include "data/catalog_json.h"
#include "data/event_json.h"
#include "data/item_batch.h"
#include "engine/config.h"
#include "engine/ingest/ingestor.h"
#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/learn/model_delta.h"
#include "engine/learn/pretrainer.h"
#include "engine/loop/impression_recorder.h"
#include "engine/messages.h"
#include "engine/metrics.h"
#include "engine/options_check.h"
#include "engine/serve/inspector.h"
#include "engine/serve/pipeline.h"
#include "engine/serve/query_runner.h"
#include "engine/serve/vector_indexer.h"
#include "engine/store/created_paths.h"
#include "engine/store/recovery.h"
#include "engine/store/snapshot_policy.h"
#include "engine/store/snapshots.h"
#include "engine/store/storage_usage.h"
#include "io/env.h"

namespace flywheel {

namespace {

// How long DeleteItem waits for the learner to catch up before judging whether the item exists.
constexpr int kDeleteWaitMs = 30'000;

}  // namespace

class Engine::Impl {
 public:
  Impl(EngineOptions options, std::vector<ModelSpec> specs, EventTypeTable types)
      : options_(std::move(options)),
        env_(options_.env != nullptr ? options_.env : io::Env::Default()),
        types_(std::move(types)),
        state_(std::move(specs), types_, options_.user_history, options_.loop,
               options_.model_learning),
        learner_(&state_, options_.pipeline, &messages_),
        ingestor_(types_, options_.dedup_window, options_.read_only, options_.disk_full_retry_ms,
                  [this](engine::Batch batch) { learner_.Enqueue(std::move(batch)); }),
        snapshots_(env_, io::JoinPath(options_.data_dir, "snapshots"),
                   static_cast<size_t>(options_.keep_snapshots), &state_, &ingestor_, &learner_),
        policy_(options_.snapshot_every, options_.snapshot_interval_ms),
        indexer_(&state_, options_.pipeline),
        queries_(&state_, &learner_, &indexer_, options_.pipeline, options_.loop),
        inspector_(&state_),
        recorder_(options_.loop, &state_, &learner_, &queries_, &ingestor_),
        deltas_(&state_, &learner_, &indexer_) {}

  ~Impl() { StopThreads(); }

  // Recovers the state and starts the threads. REQUIRES: the directory is locked.
  Status Start();
  Result<ForgetResult> ForgetUser(const std::string& id);
  Result<PretrainResult> Pretrain(const std::string& model);
  Result<uint64_t> Snapshot();
  EngineStats stats() const;
  Result<uint32_t> StateDigest() const;
  Status Close();

  engine::Ingestor& ingestor() { return ingestor_; }
  const engine::Learner& learner() const { return learner_; }
  const engine::QueryRunner& queries() const { return queries_; }
  const EventTypeTable& types() const { return types_; }
  const engine::Inspector& inspector() const { return inspector_; }
  engine::ModelDeltas& deltas() { return deltas_; }
  engine::ImpressionRecorder& recorder() { return recorder_; }
  Result<StorageStats> Storage() const { return engine::MeasureStorage(env_, options_.data_dir); }
  std::unique_ptr<engine::DirLock> dir_lock;

 private:
  void StopThreads() {
    learner_.Stop();
    indexer_.Stop();
  }
  // The learner's hook after each event: automatic snapshots.
  void AfterApplied(uint64_t seq);

  const EngineOptions options_;
  io::Env* const env_;
  const EventTypeTable types_;
  engine::MessageLog messages_;
  engine::LearnedState state_;
  engine::Learner learner_;
  engine::Ingestor ingestor_;
  engine::Snapshots snapshots_;
  engine::SnapshotPolicy policy_;  // learner thread only
  engine::VectorIndexer indexer_;
  engine::QueryRunner queries_;
  engine::Inspector inspector_;
  engine::ImpressionRecorder recorder_;  // before recovery_: declared after what it uses
  engine::RecoveryReport recovery_;      // written by Start only
  engine::ModelDeltas deltas_;
};

Status Engine::Impl::Start() {
  {
    base::WriterLock lock(&state_.mu);
    FLYWHEEL_RETURN_IF_ERROR(state_.Reset());  // creates the models
  }
  engine::RecoveryOptions ro;
  ro.wal_dir = io::JoinPath(options_.data_dir, "wal");
  ro.durability = options_.durability;
  ro.segment_bytes = options_.segment_bytes;
  ro.read_only = options_.read_only;
  ro.skip_corruption = options_.skip_corruption;
  FLYWHEEL_ASSIGN_OR_RETURN(recovery_, engine::Recover(env_, ro, &state_, &ingestor_, &learner_,
                                                       &snapshots_, &messages_));
  policy_.Reset(recovery_.snapshot_seq);
  engine::Learner::Hooks hooks;
  hooks.item_changed = [this](ItemIdx item) { indexer_.MarkDirty(item); };
  hooks.applied = [this](uint64_t seq) { AfterApplied(seq); };
  hooks.log_control = [this](Event record) { return ingestor_.LogControl(std::move(record)); };
  learner_.Start(std::move(hooks));
  indexer_.Start();
  return Status::Ok();
}

void Engine::Impl::AfterApplied(uint64_t seq) {
  if (!policy_.Due(seq)) {
    return;
  }
  Result<uint64_t> snap = snapshots_.Write();
  if (!snap.ok()) {
    messages_.Add("engine: automatic snapshot failed: " + snap.status().ToString());
  }
}

Result<ForgetResult> Engine::Impl::ForgetUser(const std::string& id) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateUser(User{id, {}}));
  ForgetResult result;
  FLYWHEEL_ASSIGN_OR_RETURN(result.seq, ingestor_.LogForget(engine::UserDeleteRecord(id)));
  FLYWHEEL_RETURN_IF_ERROR(learner_.WaitForApplied(result.seq, 600'000));
  // Every older snapshot and every log segment before the deletion goes (after two copies).
  FLYWHEEL_ASSIGN_OR_RETURN(result.snapshot_seq, snapshots_.WritePurge());
  return result;
}

Result<PretrainResult> Engine::Impl::Pretrain(const std::string& model) {
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, state_.ModelIndex(model));
  FLYWHEEL_RETURN_IF_ERROR(ingestor_.CheckWritable());
  PretrainResult result;
  engine::PretrainInputs in;
  in.env = env_;
  in.wal_dir = io::JoinPath(options_.data_dir, "wal");
  in.skip_corruption = options_.skip_corruption;
  FLYWHEEL_RETURN_IF_ERROR(engine::PretrainModel(in, which, learner_, &state_, &indexer_, &result));
  FLYWHEEL_ASSIGN_OR_RETURN(result.snapshot_seq, Snapshot());
  return result;
}

Result<uint64_t> Engine::Impl::Snapshot() {
  FLYWHEEL_RETURN_IF_ERROR(ingestor_.CheckWritable());
  return snapshots_.Write();
}

EngineStats Engine::Impl::stats() const {
  EngineStats s;
  s.last_seq = ingestor_.last_seq();
  s.durable_seq = ingestor_.durable_seq();
  s.applied_seq = learner_.visible_seq();  // what recommendations reflect (trending included)
  s.duplicates = ingestor_.duplicates();
  {
    base::ReaderLock lock(&state_.mu);
    s.users = state_.user_ids.size() - state_.forgotten_users;
    s.items = state_.item_ids.size() - state_.catalog.deleted_count();
    s.deleted_items = state_.catalog.deleted_count();
    s.forgotten_users = state_.forgotten_users;
    state_.attributor.FillStats(&s.impressions);
  }
  s.vector_index_items = indexer_.indexed_items();
  s.vector_index_upserts = indexer_.upserts();
  s.snapshot_seq = snapshots_.seq();
  s.snapshots_written = snapshots_.written();
  for (const ModelSpec& m : state_.specs()) {
    s.models.push_back(m.name);
  }
  s.freshness_ms_p50 = learner_.freshness().Quantile(0.5);
  s.freshness_ms_p99 = learner_.freshness().Quantile(0.99);
  s.freshness_count = learner_.freshness().count();
  s.ingest_ms_p50 = ingestor_.latency().Quantile(0.5);
  s.ingest_ms_p99 = ingestor_.latency().Quantile(0.99);
  engine::FillRecoveryStats(recovery_, messages_.All(), &s);
  ingestor_.FillWriteState(&s);
  return s;
}

Result<uint32_t> Engine::Impl::StateDigest() const {
  std::vector<engine::SnapshotSection> sections;
  FLYWHEEL_RETURN_IF_ERROR(snapshots_.Serialize(&sections).status());
  uint32_t crc = 0;
  for (const auto& s : sections) {
    if (s.name == "dedup") {
      continue;  // log bookkeeping, not learned state
    }
    crc = base::crc32c::Extend(crc, s.name.data(), s.name.size());
    crc = base::crc32c::Extend(crc, s.payload.data(), s.payload.size());
  }
  return crc;
}

Status Engine::Impl::Close() {
  FLYWHEEL_ASSIGN_OR_RETURN(const auto closed, ingestor_.MarkClosed());
  const auto [last, healthy] = closed;
  StopThreads();  // the learner drains its queue first
  const uint64_t applied = learner_.applied_seq();
  Status st;
  if (last != applied) {
    st = Status::Internal("engine: learner stopped at " + std::to_string(applied) + " of " +
                          std::to_string(last));
  }
  if (options_.read_only) {
    return st;
  }
  if (st.ok() && healthy && options_.snapshot_on_close && applied > 0 &&
      applied != snapshots_.seq()) {
    st = snapshots_.Write().status();
  }
  Status writer = ingestor_.CloseWriter();
  return st.ok() ? writer : st;
}

// ------------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  io::Env* env = options.env != nullptr ? options.env : io::Env::Default();
  FLYWHEEL_RETURN_IF_ERROR(engine::ValidateEngineOptions(options, env));
  // A failed open removes what it created (declared first: destroyed after the lock).
  engine::CreatedPaths created;
  const std::vector<std::string> parts = {"", "LOCK", "wal", "snapshots", engine::kConfigFileName};
  for (const std::string& part : parts) {
    if (!options.read_only) {
      created.Note(part.empty() ? options.data_dir : io::JoinPath(options.data_dir, part));
    }
  }
  if (!options.read_only) {
    FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(options.data_dir));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<engine::DirLock> lock,
                            engine::DirLock::Acquire(options.data_dir, options.read_only));
  if (!options.read_only) {
    FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(io::JoinPath(options.data_dir, "wal")));
    FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(io::JoinPath(options.data_dir, "snapshots")));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::vector<ModelSpec> specs,
      engine::LoadOrWriteConfig(env, options.data_dir, options.models,
                                [](const std::vector<ModelSpec>& m) {
                                  std::vector<std::unique_ptr<model::Recommender>> probe;
                                  return engine::CreateModels(m, &probe);
                                }));
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::string type_spec,
      engine::LoadOrWriteEventTypes(env, options.data_dir, options.event_types, options.read_only));
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable types, EventTypeTable::Parse(type_spec));
  FLYWHEEL_RETURN_IF_ERROR(types.set_rating_threshold(options.rating_threshold));
  auto impl = std::make_unique<Impl>(options, std::move(specs), std::move(types));
  impl->dir_lock = std::move(lock);
  FLYWHEEL_RETURN_IF_ERROR(impl->Start());
  created.Keep();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<IngestResult> Engine::Ingest(std::span<const Event> events) {
  return impl_->ingestor().Ingest(events);
}
std::vector<EventError> Engine::Validate(std::span<const Event> events) const {
  return impl_->ingestor().Validate(events);
}
Result<uint64_t> Engine::PutItem(const Item& item) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateItem(item));
  return impl_->ingestor().LogControl(engine::ItemPutRecord(item));
}
Result<uint64_t> Engine::PutItems(std::span<const Item> items) {
  if (items.empty()) {
    return Status::InvalidArgument("engine: no items").WithField("items");
  }
  if (std::vector<data::ItemError> bad = data::ItemBatchErrors(items); !bad.empty()) {
    const std::string at = "items[" + std::to_string(bad[0].index) + "]";
    return Status::InvalidArgument("item " + std::to_string(bad[0].index) + ": " + bad[0].message)
        .WithField(bad[0].field.empty() ? at : at + "." + bad[0].field);
  }
  std::vector<Event> records;
  records.reserve(items.size());
  for (const Item& item : items) {
    records.push_back(engine::ItemPutRecord(item));
  }
  return impl_->ingestor().LogControls(std::move(records));
}
Result<uint64_t> Engine::DeleteItem(const std::string& id) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateItem(Item{id, {}, {}, {}, {}, 0}));
  // Judged on everything logged before this call (an item PUT just before is known).
  FLYWHEEL_RETURN_IF_ERROR(
      impl_->learner().WaitForApplied(impl_->ingestor().last_seq(), kDeleteWaitMs));
  if (!impl_->queries().HasItem(id)) {
    return Status::NotFound("engine: item '" + id + "' is not in the catalogue");
  }
  return impl_->ingestor().LogControl(engine::ItemDeleteRecord(id));
}
Result<uint64_t> Engine::PutUser(const User& user) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateUser(user));
  return impl_->ingestor().LogControl(engine::UserPutRecord(user));
}
Result<ForgetResult> Engine::ForgetUser(const std::string& id) {
  return impl_->ForgetUser(id);
}
Result<RecommendResult> Engine::Recommend(const RecommendQuery& query) const {
  return impl_->recorder().Recommend(query);
}
Result<ImpressionResult> Engine::RecordImpression(const ImpressionInput& input) {
  return impl_->recorder().Record(input);
}
Result<std::vector<double>> Engine::Propensities(const RecommendQuery& query,
                                                 std::span<const ShownItem> shown,
                                                 std::vector<double>* steps, uint64_t seed) const {
  return impl_->queries().Propensities(query, shown, steps, seed);
}
Result<DryRunResult> Engine::DryRun(const RecommendQuery& query, const DryRunEvent& event) const {
  return impl_->queries().DryRun(query, event);
}
Result<UserDetail> Engine::GetUser(const std::string& id, int limit) const {
  return impl_->inspector().GetUser(id, limit);
}
Result<ItemDetail> Engine::GetItem(const std::string& id) const {
  return impl_->inspector().GetItem(id);
}
Result<RecommendResult> Engine::Similar(const std::string& item, int k,
                                        const std::string& model) const {
  return impl_->queries().Similar(item, k, model);
}
Status Engine::WaitForApplied(uint64_t seq, int timeout_ms) const {
  return impl_->learner().WaitForApplied(seq, timeout_ms);
}
Result<PretrainResult> Engine::Pretrain(const std::string& model) {
  return impl_->Pretrain(model);
}
Result<uint64_t> Engine::Snapshot() {
  return impl_->Snapshot();
}
const EventTypeTable& Engine::event_types() const {
  return impl_->types();
}
EngineStats Engine::stats() const {
  return impl_->stats();
}
Result<StorageStats> Engine::Storage() const {
  return impl_->Storage();
}
std::vector<uint64_t> Engine::FreshnessBuckets() const {
  const auto counts = impl_->learner().freshness().Snapshot();
  return {counts.begin(), counts.end()};
}
std::string Engine::MetricsText() const {
  return engine::MetricsText(stats(), impl_->learner().freshness(), impl_->ingestor().latency());
}
Result<uint32_t> Engine::StateDigest() const {
  return impl_->StateDigest();
}
Result<std::vector<ModelDelta>> Engine::ExportModelDeltas(bool dense, bool full) {
  return impl_->deltas().Export(dense, full);
}
Status Engine::ApplyModelDelta(const ModelDelta& delta) {
  return impl_->deltas().Apply(delta);
}
Status Engine::Close() {
  return impl_->Close();
}

}  // namespace flywheel
