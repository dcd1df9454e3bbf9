#include "flywheel/engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "flywheel/event_types.h"

#include "ann/rw_lock.h"
#include "base/crc32c.h"
#include "base/histogram.h"
#include "base/serial.h"
#include "data/catalog_json.h"
#include "data/event_json.h"
#include "data/id_map.h"
#include "data/interaction.h"
#include "engine/catalog.h"
#include "engine/dedup_window.h"
#include "engine/pipeline.h"
#include "engine/snapshot_file.h"
#include "engine/vector_index.h"
#include "io/env.h"
#include "model/registry.h"
#include "model/user_state.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace flywheel {
namespace {

using nlohmann::json;

constexpr char kConfigFile[] = "engine.json";
constexpr int kConfigVersion = 1;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

json ModelsToJson(const std::vector<ModelSpec>& models) {
  json out = json::array();
  for (const ModelSpec& m : models) {
    json params = json::object();
    for (const auto& [k, v] : m.params) {
      params[k] = v;
    }
    out.push_back({{"name", m.name}, {"params", params}});
  }
  return out;
}

Result<std::vector<ModelSpec>> ModelsFromJson(const json& j) {
  if (!j.is_array() || j.empty()) {
    return Status::Corruption("engine.json: 'models' must be a non-empty array");
  }
  std::vector<ModelSpec> models;
  for (const json& m : j) {
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
      return Status::Corruption("engine.json: every model needs a string 'name'");
    }
    ModelSpec spec;
    spec.name = m["name"].get<std::string>();
    if (m.contains("params")) {
      if (!m["params"].is_object()) {
        return Status::Corruption("engine.json: 'params' must be an object");
      }
      for (const auto& [k, v] : m["params"].items()) {
        if (!v.is_string()) {
          return Status::Corruption("engine.json: parameter values must be strings");
        }
        spec.params[k] = v.get<std::string>();
      }
    }
    models.push_back(std::move(spec));
  }
  return models;
}

bool SameModels(const std::vector<ModelSpec>& a, const std::vector<ModelSpec>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].params != b[i].params) {
      return false;
    }
  }
  return true;
}

std::string DescribeModels(const std::vector<ModelSpec>& models) {
  return ModelsToJson(models).dump();
}

// Exclusive advisory lock on D/LOCK for the life of the engine (a second process is refused).
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir) {
    const std::string path = io::JoinPath(dir, "LOCK");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::IoError("engine: cannot open " + path);
    }
    // flock: held per open file description, so a second Open in the same process is refused
    // too (fcntl locks would not see it).
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::FailedPrecondition("engine: data directory " + dir +
                                        " is in use by another process (LOCK is held)");
    }
    return std::unique_ptr<DirLock>(new DirLock(fd));
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

struct Batch {
  uint64_t first_seq = 0;
  std::vector<Event> events;
  std::chrono::steady_clock::time_point acked;  // when Ingest acknowledged it
};

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

// ------------------------------------------------------------------------------------------

class Engine::Impl {
 public:
  explicit Impl(EngineOptions options)
      : options_(std::move(options)),
        env_(options_.env != nullptr ? options_.env : io::Env::Default()),
        wal_dir_(io::JoinPath(options_.data_dir, "wal")),
        snapshot_dir_(io::JoinPath(options_.data_dir, "snapshots")),
        types_(EventTypeTable::Default()),
        dedup_(options_.dedup_window),
        users_(options_.user_history) {}

  ~Impl() { StopLearner(); }

  Status Open();
  Result<IngestResult> Ingest(std::span<const Event> events);
  std::vector<EventError> Validate(std::span<const Event> events) const;
  Result<uint64_t> PutItem(const Item& item);
  Result<uint64_t> DeleteItem(const std::string& id);
  Result<uint64_t> PutUser(const User& user);
  Result<ForgetResult> ForgetUser(const std::string& id);
  Result<RecommendResult> Recommend(const RecommendQuery& query) const;
  Result<RecommendResult> Similar(const std::string& item, int k, const std::string& model) const;
  Status WaitForApplied(uint64_t seq, int timeout_ms) const;
  Result<uint64_t> Snapshot();
  Result<PretrainResult> Pretrain(const std::string& model);
  EngineStats stats() const;
  std::string MetricsText() const;
  Result<uint32_t> StateDigest() const;
  Status Close();

 private:
  // OK when Ingest/Snapshot may proceed: not read-only, not closed, no earlier fatal failure.
  // REQUIRES: ingest_mu_ held.
  Status CheckWritableLocked() const;
  Status LoadOrWriteConfig();
  Status CreateModels(std::vector<std::unique_ptr<model::Recommender>>* out) const;
  Status Recover();
  Status LoadSnapshot(uint64_t seq);
  // Applies one logged event to the state (the caller then publishes applied_seq_).
  // REQUIRES: state_mu_ held exclusively (or no other
  // thread running, during recovery).
  void Apply(const Event& event);
  // Applies a control record (catalog.h). Same requirements as Apply.
  void ApplyControl(const Event& record);
  // Logs `events` (already validated and deduplicated) as the next sequence numbers and hands
  // them to the learner. Returns the first sequence number. REQUIRES: ingest_mu_ held, writable.
  Result<uint64_t> LogLocked(std::vector<Event> events);
  // Logs one control record; returns its sequence number.
  Result<uint64_t> LogControl(Event record);
  // Writes a snapshot now and removes every older snapshot and every log segment it covers
  // (erasing forgotten users' events from disk).
  Result<uint64_t> SnapshotAndPurge();
  // Serialises the learned state. REQUIRES: state_mu_ held (shared is enough).
  Status SerializeStateLocked(std::vector<engine::SnapshotSection>* sections) const;
  // Writes a snapshot and keeps the newest `keep` (the option's value when 0).
  Result<uint64_t> WriteSnapshot(size_t keep = 0);
  Status ApplyRetention(size_t keep);
  void LearnerLoop();
  void StopLearner();
  // Keeps the models' item-vector indexes up to date (creates them once a model knows
  // pipeline.ann_min_items items). Runs until indexer_stop_.
  void IndexerLoop();
  // The index Recommend may use for model `which` now (null: exact scan). REQUIRES: state_mu_.
  const engine::VectorSearch* SearchFor(size_t which) const;
  // Index of the model named `name` (empty: the first); kInvalidArgument when not configured.
  Result<size_t> ModelIndex(const std::string& name) const;
  // Rebuilds the trending lists from the catalogue when `force` or older than a second.
  // Learner thread (or recovery) only: reads the catalogue without the lock, swaps under it.
  void RebuildTrending();
  // Whether the trending lists are due after applying `seq` (a deterministic schedule: every
  // control record, and every max(1, min(1000, seq / 10)) events).
  static bool TrendingDue(uint64_t seq, const Event& event);
  std::string ItemName(ItemIdx item) const;  // REQUIRES: state_mu_ held
  // What the pipeline reads for model `which`. REQUIRES: state_mu_ held while it is used.
  engine::PipelineContext PipelineContextFor(size_t which) const;

  const EngineOptions options_;
  io::Env* const env_;
  const std::string wal_dir_;
  const std::string snapshot_dir_;
  const EventTypeTable types_;
  std::vector<ModelSpec> model_specs_;
  std::unique_ptr<DirLock> lock_;

  // Ingest side: serialises Ingest calls.
  mutable std::mutex ingest_mu_;
  std::unique_ptr<wal::LogWriter> writer_;  // guarded by ingest_mu_ for appends
  engine::DedupWindow dedup_;               // guarded by ingest_mu_
  uint64_t next_seq_ = 1;                   // guarded by ingest_mu_
  Status failure_;                          // guarded by ingest_mu_; sticky
  bool closed_ = false;                     // guarded by ingest_mu_
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> duplicates_{0};

  // Learner queue.
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Batch> queue_;  // guarded by queue_mu_
  bool stop_ = false;        // guarded by queue_mu_
  std::thread learner_;
  mutable std::mutex applied_mu_;
  mutable std::condition_variable applied_cv_;
  std::atomic<uint64_t> applied_seq_{0};
  // Through this sequence number everything derived from the events is published too (the
  // trending and new-item lists, rebuilt after the state is applied): WaitForApplied waits on it,
  // so a caller that saw its write applied also sees it in the lists. Trails applied_seq_ by at
  // most the one event the learner is finishing.
  std::atomic<uint64_t> visible_seq_{0};

  // Learned state: written by the learner under the exclusive lock, read under the shared one.
  // Writer-preferring (ann::RwLock): under a steady stream of requests the learner still gets
  // in after the requests already running (std::shared_mutex prefers readers and starved it).
  mutable ann::RwLock state_mu_;
  data::IdMap user_ids_;
  data::IdMap item_ids_;
  model::UserStateStore users_;
  engine::Catalog catalog_;
  std::vector<std::unique_ptr<model::Recommender>> models_;  // GUARDED_BY(state_mu_)
  // Models replaced by Pretrain, kept until Close (the indexer thread may hold a reference).
  std::vector<std::unique_ptr<model::Recommender>> retired_models_;  // GUARDED_BY(state_mu_)
  uint64_t forgotten_users_ = 0;    // user ids forgotten (their index stays reserved)
  uint64_t forgets_applied_ = 0;    // user deletions applied since open (recovery included)
  engine::TrendingLists trending_;  // rebuilt by the learner (RebuildTrending)
  // Item-vector indexes by model (null: none yet, or the model has no vectors). The pointer
  // is published once by the indexer thread; the index is then shared by readers.
  std::vector<std::atomic<engine::ItemVectorIndex*>> vector_index_ptrs_;
  std::vector<std::unique_ptr<engine::ItemVectorIndex>> vector_indexes_;  // indexer thread only
  std::thread indexer_;
  std::mutex indexer_mu_;
  std::condition_variable indexer_cv_;
  bool indexer_stop_ = false;  // guarded by indexer_mu_
  TimestampMs last_event_ms_ = 0;

  // Snapshots.
  std::mutex snapshot_mu_;  // one snapshot at a time
  std::atomic<uint64_t> snapshot_seq_{0};
  std::atomic<uint64_t> snapshots_written_{0};
  uint64_t last_auto_snapshot_ = 0;  // learner thread only

  base::AtomicHistogram freshness_;
  base::AtomicHistogram ingest_latency_;

  // Recovery report.
  uint64_t recovered_snapshot_seq_ = 0;
  uint64_t replayed_events_ = 0;
  double recovery_seconds_ = 0;
  std::vector<std::string> recovery_messages_;
};

Status Engine::Impl::Open() {
  if (options_.data_dir.empty()) {
    return Status::InvalidArgument("engine: data_dir is empty");
  }
  if (options_.keep_snapshots < 1) {
    return Status::InvalidArgument("engine: keep_snapshots must be >= 1");
  }
  FLYWHEEL_RETURN_IF_ERROR(wal::Durability::Parse(options_.durability).status());
  FLYWHEEL_RETURN_IF_ERROR(engine::ValidatePipelineOptions(options_.pipeline));
  if (options_.read_only) {
    if (!env_->FileExists(io::JoinPath(options_.data_dir, kConfigFile))) {
      return Status::NotFound("engine: " + options_.data_dir + " is not a Flywheel data directory");
    }
  } else {
    FLYWHEEL_RETURN_IF_ERROR(env_->CreateDir(options_.data_dir));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(lock_, DirLock::Acquire(options_.data_dir));
  if (!options_.read_only) {
    FLYWHEEL_RETURN_IF_ERROR(env_->CreateDir(wal_dir_));
    FLYWHEEL_RETURN_IF_ERROR(env_->CreateDir(snapshot_dir_));
  }
  FLYWHEEL_RETURN_IF_ERROR(LoadOrWriteConfig());
  FLYWHEEL_RETURN_IF_ERROR(Recover());
  vector_index_ptrs_ = std::vector<std::atomic<engine::ItemVectorIndex*>>(models_.size());
  vector_indexes_.resize(models_.size());
  learner_ = std::thread([this] { LearnerLoop(); });
  const bool any_vectors = std::any_of(models_.begin(), models_.end(),
                                       [](const auto& m) { return m->retrieval_dim() > 0; });
  if (options_.pipeline.ann != "none" && any_vectors) {
    indexer_ = std::thread([this] { IndexerLoop(); });
  }
  return Status::Ok();
}

Status Engine::Impl::CheckWritableLocked() const {
  if (options_.read_only) {
    return Status::FailedPrecondition("engine: opened read-only");
  }
  if (closed_) {
    return Status::FailedPrecondition("engine: closed");
  }
  if (!failure_.ok()) {
    return Status(failure_.code(), "engine: failed earlier: " + failure_.message());
  }
  return Status::Ok();
}

Status Engine::Impl::LoadOrWriteConfig() {
  const std::string path = io::JoinPath(options_.data_dir, kConfigFile);
  if (env_->FileExists(path)) {
    std::string text;
    FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, path, &text));
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("models")) {
      return Status::Corruption("engine: " + path + " is not a valid engine configuration");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<ModelSpec> stored, ModelsFromJson(doc["models"]));
    if (!options_.models.empty() && !SameModels(options_.models, stored)) {
      return Status::FailedPrecondition(
          "engine: data directory was created with models " + DescribeModels(stored) + " but " +
          DescribeModels(options_.models) +
          " were requested; use the same models or a new data directory");
    }
    model_specs_ = std::move(stored);
  } else {
    model_specs_ = options_.models;
    if (model_specs_.empty()) {
      model_specs_.push_back(ModelSpec{"pop", {}});
    }
    // Validate before persisting: a typo must not be written into the directory.
    std::vector<std::unique_ptr<model::Recommender>> probe;
    FLYWHEEL_RETURN_IF_ERROR(CreateModels(&probe));
    const json doc = {{"version", kConfigVersion}, {"models", ModelsToJson(model_specs_)}};
    FLYWHEEL_RETURN_IF_ERROR(
        engine::WriteFileAtomically(env_, options_.data_dir, kConfigFile, doc.dump(2) + "\n"));
  }
  for (size_t i = 0; i < model_specs_.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (model_specs_[i].name == model_specs_[j].name) {
        return Status::InvalidArgument("engine: model '" + model_specs_[i].name +
                                       "' is configured twice");
      }
    }
  }
  return CreateModels(&models_);
}

Status Engine::Impl::CreateModels(std::vector<std::unique_ptr<model::Recommender>>* out) const {
  out->clear();
  for (const ModelSpec& spec : model_specs_) {
    model::ModelParams params(spec.params.begin(), spec.params.end());
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<model::Recommender> m,
                              model::CreateRecommender(spec.name, params));
    out->push_back(std::move(m));
  }
  return Status::Ok();
}

Status Engine::Impl::Recover() {
  const auto start = std::chrono::steady_clock::now();
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> snapshots,
                            engine::ListSnapshots(env_, snapshot_dir_));
  uint64_t from_seq = 0;
  for (uint64_t seq : snapshots) {
    Status st = LoadSnapshot(seq);
    if (st.ok()) {
      from_seq = seq;
      break;
    }
    recovery_messages_.push_back("engine: skipped snapshot " + engine::SnapshotFileName(seq) +
                                 ": " + st.ToString());
    // Start the next attempt from a clean state.
    user_ids_ = data::IdMap();
    item_ids_ = data::IdMap();
    users_ = model::UserStateStore(options_.user_history);
    catalog_ = engine::Catalog();
    forgotten_users_ = 0;
    dedup_.Clear();
    FLYWHEEL_RETURN_IF_ERROR(CreateModels(&models_));
  }
  recovered_snapshot_seq_ = from_seq;
  snapshot_seq_.store(from_seq);
  last_auto_snapshot_ = from_seq;
  applied_seq_.store(from_seq);
  visible_seq_.store(from_seq);

  wal::ReaderOptions reader_options;
  reader_options.start_seq = from_seq + 1;
  reader_options.tolerate_corruption = options_.skip_corruption;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(env_, wal_dir_, reader_options));
  wal::LogRecord record;
  while (true) {
    Result<bool> more = reader->Next(&record);
    if (!more.ok()) {
      return Status(more.status().code(),
                    more.status().message() +
                        " (the log is damaged before its tail; restart with skip_corruption "
                        "(--skip-corruption) to skip damaged spans and lose their events)");
    }
    if (!*more) {
      break;
    }
    if (!record.event.id.empty()) {
      dedup_.Add(record.event.id, record.seq);
    }
    Apply(record.event);
    applied_seq_.store(record.seq, std::memory_order_release);
    ++replayed_events_;
  }
  RebuildTrending();
  visible_seq_.store(applied_seq_.load(), std::memory_order_release);
  const wal::ReadReport& report = reader->report();
  for (const std::string& m : report.messages) {
    recovery_messages_.push_back(m);
  }
  if (options_.read_only) {
    next_seq_ = std::max(report.next_seq, applied_seq_.load() + 1);
    last_seq_.store(next_seq_ - 1);
    recovery_seconds_ = SecondsSince(start);
    return Status::Ok();
  }
  if (report.tail_truncated || report.tail_header_torn) {
    FLYWHEEL_RETURN_IF_ERROR(wal::TruncateTail(env_, wal_dir_, report));
  }
  next_seq_ = std::max(report.next_seq, applied_seq_.load() + 1);
  if (report.next_seq < next_seq_ && report.last_seq != 0) {
    return Status::Corruption("engine: snapshot " + std::to_string(from_seq) +
                              " is ahead of the log (last seq " + std::to_string(report.last_seq) +
                              ")");
  }
  last_seq_.store(next_seq_ - 1);
  wal::WriterOptions writer_options;
  FLYWHEEL_ASSIGN_OR_RETURN(writer_options.durability, wal::Durability::Parse(options_.durability));
  writer_options.segment_bytes = options_.segment_bytes;
  FLYWHEEL_ASSIGN_OR_RETURN(writer_,
                            wal::LogWriter::Open(env_, wal_dir_, writer_options, next_seq_));
  if (forgets_applied_ > 0) {
    // A user deletion was logged but the purge that follows it may not have finished: finish
    // it now so that the forgotten events leave the disk (the writer opened a new segment).
    FLYWHEEL_RETURN_IF_ERROR(SnapshotAndPurge().status());
    recovery_messages_.push_back("engine: replayed " + std::to_string(forgets_applied_) +
                                 " user deletion(s); wrote a snapshot and erased older ones");
  }
  recovery_seconds_ = SecondsSince(start);
  return Status::Ok();
}

Status Engine::Impl::LoadSnapshot(uint64_t seq) {
  const std::string name = engine::SnapshotFileName(seq);
  std::string bytes;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, io::JoinPath(snapshot_dir_, name), &bytes));
  FLYWHEEL_ASSIGN_OR_RETURN(engine::SnapshotView view, engine::DecodeSnapshot(bytes, name));
  if (view.seq != seq) {
    return Status::Corruption("snapshot " + name + " holds sequence number " +
                              std::to_string(view.seq));
  }
  auto section = [&](const std::string& s) -> Result<base::ByteReader> {
    auto payload = view.Find(s);
    if (!payload) {
      return Status::Corruption("snapshot " + name + ": missing section '" + s + "'");
    }
    return base::ByteReader(*payload, "snapshot " + name + " section " + s);
  };
  {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader meta, section("meta"));
    std::string text;
    FLYWHEEL_RETURN_IF_ERROR(meta.GetString(&text, "meta"));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.contains("models")) {
      return Status::Corruption("snapshot " + name + ": bad meta section");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<ModelSpec> models, ModelsFromJson(doc["models"]));
    if (!SameModels(models, model_specs_)) {
      return Status::FailedPrecondition("snapshot " + name + " was written for models " +
                                        DescribeModels(models));
    }
    if (doc.contains("last_event_ms") && doc["last_event_ms"].is_number_integer()) {
      last_event_ms_ = doc["last_event_ms"].get<TimestampMs>();
    }
  }
  auto load = [&](const std::string& s, auto&& fn) -> Status {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, section(s));
    FLYWHEEL_RETURN_IF_ERROR(fn(r));
    return r.ExpectEnd();
  };
  FLYWHEEL_RETURN_IF_ERROR(
      load("user_ids", [&](base::ByteReader& r) { return user_ids_.Load(&r); }));
  FLYWHEEL_RETURN_IF_ERROR(
      load("item_ids", [&](base::ByteReader& r) { return item_ids_.Load(&r); }));
  FLYWHEEL_RETURN_IF_ERROR(
      load("user_states", [&](base::ByteReader& r) { return users_.Load(&r); }));
  FLYWHEEL_RETURN_IF_ERROR(load("dedup", [&](base::ByteReader& r) { return dedup_.Load(&r); }));
  FLYWHEEL_RETURN_IF_ERROR(load("catalog", [&](base::ByteReader& r) { return catalog_.Load(&r); }));
  forgotten_users_ = 0;
  for (UserIdx u = 0; u < user_ids_.size(); ++u) {
    forgotten_users_ += user_ids_.forgotten(u) ? 1 : 0;
  }
  if (users_.size() > user_ids_.size()) {
    return Status::Corruption("snapshot " + name + ": more user states than users");
  }
  for (size_t i = 0; i < models_.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(load("model/" + model_specs_[i].name,
                                  [&](base::ByteReader& r) { return models_[i]->LoadState(&r); }));
  }
  return Status::Ok();
}

void Engine::Impl::Apply(const Event& event) {
  if (engine::IsControl(event)) {
    ApplyControl(event);
    return;
  }
  const EventTypeId type = types_.Find(event.type).value();  // validated before logging
  data::Interaction x;
  x.user = user_ids_.GetOrAdd(event.user);
  const size_t items_before = item_ids_.size();
  x.item = item_ids_.GetOrAdd(event.item);
  x.ts_ms = event.ts_ms;
  x.value = static_cast<float>(event.value);
  x.weight = types_.type(type).weight;
  x.type = type;
  model::UserState& user = users_.Get(x.user);
  const bool new_item = item_ids_.size() != items_before;
  if (new_item) {
    catalog_.EnsureItem(x.item, event.ts_ms);
  }
  catalog_.CountEvent(x.item, x.weight, event.ts_ms);
  for (auto& m : models_) {
    if (new_item) {
      m->SetItemContent(x.item, Item{event.item, {}, {}, {}, {}, 0});
    }
    m->Observe(x, user);
  }
  for (const auto& index : vector_index_ptrs_) {
    if (engine::ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
      v->MarkDirty(x.item);
    }
  }
  user.Add(x);
  last_event_ms_ = std::max(last_event_ms_, event.ts_ms);
}

void Engine::Impl::ApplyControl(const Event& record) {
  if (record.type == engine::kItemPutType) {
    Result<Item> item = engine::DecodeItemPut(record);
    if (!item.ok()) {
      recovery_messages_.push_back("engine: skipped a control record: " + item.status().ToString());
      return;
    }
    const ItemIdx idx = item_ids_.GetOrAdd(item->id);
    // First seen: the log's event time (the item's creation time before any event).
    catalog_.PutItem(idx, *item, last_event_ms_ > 0 ? last_event_ms_ : item->created_ms);
    for (auto& m : models_) {
      m->SetItemContent(idx, *item);
    }
    for (const auto& index : vector_index_ptrs_) {
      if (engine::ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
        v->MarkDirty(idx);
      }
    }
  } else if (record.type == engine::kItemDeleteType) {
    catalog_.DeleteItem(item_ids_.GetOrAdd(record.item));
  } else if (record.type == engine::kUserPutType) {
    Result<User> user = engine::DecodeUserPut(record);
    if (!user.ok()) {
      recovery_messages_.push_back("engine: skipped a control record: " + user.status().ToString());
      return;
    }
    catalog_.PutUser(user_ids_.GetOrAdd(user->id), std::move(user->attributes));
  } else if (record.type == engine::kUserDeleteType) {
    ++forgets_applied_;
    const std::optional<uint32_t> idx = user_ids_.Find(record.user);
    if (!idx) {
      return;
    }
    users_.Clear(*idx);
    for (auto& m : models_) {
      m->ForgetUser(*idx);
    }
    catalog_.ForgetUser(*idx);
    user_ids_.Forget(*idx);
    ++forgotten_users_;
  }
}

std::vector<EventError> Engine::Impl::Validate(std::span<const Event> events) const {
  std::vector<EventError> errors;
  for (size_t i = 0; i < events.size(); ++i) {
    Status st = data::ValidateEvent(events[i], types_);
    if (!st.ok()) {
      EventError e;
      e.index = i;
      e.message = st.message();
      e.field = st.field();
      errors.push_back(std::move(e));
    }
  }
  return errors;
}

Result<IngestResult> Engine::Impl::Ingest(std::span<const Event> events) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<EventError> errors = Validate(events);
  if (!errors.empty()) {
    return Status::InvalidArgument("event " + std::to_string(errors.front().index) + ": " +
                                   errors.front().message);
  }
  IngestResult result;
  {
    std::lock_guard lock(ingest_mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
    // Deduplicate against the window and within the batch.
    std::vector<size_t> keep;
    keep.reserve(events.size());
    std::unordered_set<std::string_view> in_batch;
    in_batch.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const std::string& id = events[i].id;
      if (!id.empty() && (dedup_.Contains(id) || !in_batch.insert(id).second)) {
        ++result.duplicates;
        continue;
      }
      keep.push_back(i);
    }
    if (!keep.empty()) {
      std::vector<Event> logged;
      logged.reserve(keep.size());
      for (size_t i : keep) {
        logged.push_back(events[i]);
      }
      FLYWHEEL_ASSIGN_OR_RETURN(result.first_seq, LogLocked(std::move(logged)));
    }
    result.accepted = keep.size();
    result.last_seq = next_seq_ - 1;
  }
  duplicates_.fetch_add(result.duplicates, std::memory_order_relaxed);
  ingest_latency_.Add(MsSince(start));
  return result;
}

Result<uint64_t> Engine::Impl::LogLocked(std::vector<Event> events) {
  Batch batch;
  const uint64_t first_seq = next_seq_;
  batch.first_seq = first_seq;
  batch.events = std::move(events);
  Status st = writer_->AppendBatch(next_seq_, batch.events);
  if (!st.ok()) {
    if (st.code() != StatusCode::kInvalidArgument) {
      failure_ = st;  // fatal: a failed write or fdatasync (see wal/log_writer.h)
    }
    return st;
  }
  for (size_t j = 0; j < batch.events.size(); ++j) {
    if (!batch.events[j].id.empty()) {
      dedup_.Add(batch.events[j].id, next_seq_ + j);
    }
  }
  next_seq_ += batch.events.size();
  last_seq_.store(next_seq_ - 1, std::memory_order_release);
  batch.acked = std::chrono::steady_clock::now();
  // Enqueue under ingest_mu_ so batches reach the learner in log order.
  std::lock_guard qlock(queue_mu_);
  queue_.push_back(std::move(batch));
  queue_cv_.notify_one();
  return first_seq;
}

Result<uint64_t> Engine::Impl::LogControl(Event record) {
  std::lock_guard lock(ingest_mu_);
  FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  std::vector<Event> events;
  events.push_back(std::move(record));
  return LogLocked(std::move(events));
}

Result<uint64_t> Engine::Impl::PutItem(const Item& item) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateItem(item));
  return LogControl(engine::ItemPutRecord(item));
}

Result<uint64_t> Engine::Impl::DeleteItem(const std::string& id) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateItem(Item{id, {}, {}, {}, {}, 0}));
  return LogControl(engine::ItemDeleteRecord(id));
}

Result<uint64_t> Engine::Impl::PutUser(const User& user) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateUser(user));
  return LogControl(engine::UserPutRecord(user));
}

Result<ForgetResult> Engine::Impl::ForgetUser(const std::string& id) {
  FLYWHEEL_RETURN_IF_ERROR(data::ValidateUser(User{id, {}}));
  ForgetResult result;
  {
    std::lock_guard lock(ingest_mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
    std::vector<Event> events;
    events.push_back(engine::UserDeleteRecord(id));
    FLYWHEEL_ASSIGN_OR_RETURN(result.seq, LogLocked(std::move(events)));
    // Later records go to a new segment, so the purge below can remove every segment that
    // holds this user's events.
    Status rolled = writer_->Roll();
    if (!rolled.ok()) {
      failure_ = rolled;
      return rolled;
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(WaitForApplied(result.seq, 600'000));
  FLYWHEEL_ASSIGN_OR_RETURN(result.snapshot_seq, SnapshotAndPurge());
  return result;
}

Result<uint64_t> Engine::Impl::SnapshotAndPurge() {
  return WriteSnapshot(/*keep=*/1);
}

void Engine::Impl::LearnerLoop() {
  while (true) {
    Batch batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stop_ and drained
      }
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    for (size_t i = 0; i < batch.events.size(); ++i) {
      {
        std::unique_lock state(state_mu_);
        Apply(batch.events[i]);
        freshness_.Add(MsSince(batch.acked));
        // Under the lock (a snapshot's sequence number must match its state), and after the
        // freshness sample, so a reader that saw `seq` applied also sees its sample.
        applied_seq_.store(batch.first_seq + i, std::memory_order_release);
      }
      if (TrendingDue(batch.first_seq + i, batch.events[i])) {
        RebuildTrending();  // reads the catalogue unlocked (this thread is its only writer)
      }
      visible_seq_.store(batch.first_seq + i, std::memory_order_release);
      if (options_.snapshot_every > 0 &&
          applied_seq_.load() - last_auto_snapshot_ >= options_.snapshot_every) {
        last_auto_snapshot_ = applied_seq_.load();
        Result<uint64_t> snap = WriteSnapshot();
        if (!snap.ok()) {
          std::lock_guard lock(applied_mu_);
          recovery_messages_.push_back("engine: automatic snapshot failed: " +
                                       snap.status().ToString());
        }
      }
    }
    { std::lock_guard lock(applied_mu_); }
    applied_cv_.notify_all();
  }
}

void Engine::Impl::StopLearner() {
  {
    std::lock_guard lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (learner_.joinable()) {
    learner_.join();
  }
  {
    std::lock_guard lock(indexer_mu_);
    indexer_stop_ = true;
  }
  indexer_cv_.notify_all();
  if (indexer_.joinable()) {
    indexer_.join();
  }
}

void Engine::Impl::IndexerLoop() {
  const PipelineOptions& p = options_.pipeline;
  while (true) {
    const auto cycle_start = std::chrono::steady_clock::now();
    size_t work = 0;
    for (size_t i = 0; i < models_.size(); ++i) {
      // Pretrain replaces a model under the exclusive lock (the old one stays alive in
      // retired_models_), so the pointer is read under the shared lock.
      const model::Recommender* m = nullptr;
      {
        std::shared_lock state(state_mu_);
        m = models_[i].get();
      }
      const size_t dim = m->retrieval_dim();
      if (dim == 0) {
        continue;
      }
      if (vector_indexes_[i] == nullptr) {
        size_t known = 0;
        {
          std::shared_lock state(state_mu_);
          known = m->num_items();
        }
        if (known < std::max<size_t>(p.ann_min_items, 1)) {
          continue;
        }
        auto index = engine::ItemVectorIndex::Create(p.ann, static_cast<uint32_t>(dim));
        if (!index.ok()) {
          continue;  // ValidatePipelineOptions accepted the kind: cannot happen
        }
        vector_indexes_[i] = std::move(index).value();
        vector_index_ptrs_[i].store(vector_indexes_[i].get(), std::memory_order_release);
      }
      work += vector_indexes_[i]->Refresh(*m, state_mu_, 64);
      {
        std::shared_lock state(state_mu_);
        if (models_[i].get() != m) {  // replaced meanwhile: that refresh read the old vectors
          for (ItemIdx item = 0; item < item_ids_.size(); ++item) {
            vector_indexes_[i]->MarkDirty(item);
          }
        }
      }
    }
    // Refreshes take at most about a tenth of a core: each HNSW update costs ~0.4 ms and holds
    // the index's writer lock, which searches wait for.
    const auto spent = std::chrono::steady_clock::now() - cycle_start;
    std::unique_lock lock(indexer_mu_);
    if (indexer_stop_) {
      return;
    }
    // Until an index covers its catalogue it is built at full speed (searches scan exactly
    // meanwhile).
    const bool building = std::any_of(vector_indexes_.begin(), vector_indexes_.end(),
                                      [](const auto& v) { return v != nullptr && !v->ready(); });
    indexer_cv_.wait_for(lock, work == 0  ? std::chrono::milliseconds(20)
                               : building ? std::chrono::milliseconds(0)
                                          : std::max<std::chrono::steady_clock::duration>(
                                                9 * spent, std::chrono::milliseconds(1)));
  }
}

const engine::VectorSearch* Engine::Impl::SearchFor(size_t which) const {
  if (which >= vector_index_ptrs_.size()) {
    return nullptr;
  }
  const engine::ItemVectorIndex* index = vector_index_ptrs_[which].load(std::memory_order_acquire);
  if (index == nullptr || !index->ready() ||
      models_[which]->num_items() < options_.pipeline.ann_min_items) {
    return nullptr;
  }
  return index;
}

Status Engine::Impl::WaitForApplied(uint64_t seq, int timeout_ms) const {
  std::unique_lock lock(applied_mu_);
  const bool done = applied_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return visible_seq_.load(std::memory_order_acquire) >= seq;
  });
  if (!done) {
    return Status::DeadlineExceeded("engine: sequence " + std::to_string(seq) +
                                    " not applied within " + std::to_string(timeout_ms) + " ms");
  }
  return Status::Ok();
}

Result<size_t> Engine::Impl::ModelIndex(const std::string& name) const {
  if (name.empty()) {
    return size_t{0};
  }
  for (size_t i = 0; i < model_specs_.size(); ++i) {
    if (model_specs_[i].name == name) {
      return i;
    }
  }
  return Status::InvalidArgument("field 'model': '" + name + "' is not configured in this engine");
}

engine::PipelineContext Engine::Impl::PipelineContextFor(size_t which) const {
  return engine::PipelineContext{*models_[which],
                                 catalog_,
                                 trending_,
                                 SearchFor(which),
                                 options_.pipeline,
                                 types_,
                                 [this](ItemIdx i) { return ItemName(i); }};
}

std::string Engine::Impl::ItemName(ItemIdx item) const {
  const engine::ItemInfo* info = catalog_.item(item);
  if (info != nullptr && !info->title.empty()) {
    return info->title;
  }
  return item < item_ids_.size() ? item_ids_.external(item) : std::to_string(item);
}

bool Engine::Impl::TrendingDue(uint64_t seq, const Event& event) {
  const uint64_t every = std::clamp<uint64_t>(seq / 10, 1, 1000);
  return engine::IsControl(event) || seq % every == 0;
}

void Engine::Impl::RebuildTrending() {
  const size_t per_list =
      static_cast<size_t>(std::max(options_.pipeline.trending_candidates, 1)) + 100;
  engine::TrendingLists lists = engine::TrendingLists::Build(
      catalog_, last_event_ms_, options_.pipeline.new_item_window_ms, per_list);
  std::unique_lock state(state_mu_);
  trending_ = std::move(lists);
}

Result<RecommendResult> Engine::Impl::Recommend(const RecommendQuery& query) const {
  if (query.k < 1 || query.k > 1000) {
    return Status::InvalidArgument("field 'k': must be in 1..1000, got " + std::to_string(query.k));
  }
  if (query.categories.size() > 64) {
    return Status::InvalidArgument("field 'categories': at most 64 categories");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, ModelIndex(query.model));
  RecommendResult result;
  result.model = model_specs_[which].name;
  std::vector<engine::PipelineItem> top;
  std::shared_lock state(state_mu_);
  result.applied_seq = applied_seq_.load(std::memory_order_acquire);
  const std::optional<uint32_t> user = user_ids_.Find(query.user);
  result.known_user = user.has_value();
  engine::PipelineQuery q;
  q.user = user.value_or(kNoUser);
  q.state = &users_.Find(q.user);
  q.k = query.k;
  q.exclude_seen = query.exclude_seen;
  q.explain = query.explain;
  q.now_ms = query.now_ms != 0 ? query.now_ms : last_event_ms_;
  if (!query.categories.empty()) {
    q.filter_categories = true;
    for (const std::string& name : query.categories) {
      if (auto c = catalog_.FindCategory(name)) {
        q.categories.push_back(*c);
      }
    }
  }
  const engine::PipelineContext ctx = PipelineContextFor(which);
  engine::RunPipeline(ctx, q, &top);
  result.items.reserve(top.size());
  for (engine::PipelineItem& p : top) {
    if (p.item >= item_ids_.size()) {
      continue;
    }
    Recommendation r;
    r.item = item_ids_.external(p.item);
    r.score = p.score;
    r.reason = std::move(p.reason);
    r.exploration = p.exploration;
    r.source = std::move(p.source);
    for (const auto& [seed, share] : p.because) {
      r.because.emplace_back(item_ids_.external(seed), share);
    }
    result.items.push_back(std::move(r));
  }
  return result;
}

Result<RecommendResult> Engine::Impl::Similar(const std::string& item, int k,
                                              const std::string& model) const {
  if (k < 1 || k > 1000) {
    return Status::InvalidArgument("field 'k': must be in 1..1000, got " + std::to_string(k));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const size_t which, ModelIndex(model));
  RecommendResult result;
  result.model = model_specs_[which].name;
  std::shared_lock state(state_mu_);
  result.applied_seq = applied_seq_.load(std::memory_order_acquire);
  const std::optional<uint32_t> idx = item_ids_.Find(item);
  if (!idx || catalog_.deleted(*idx)) {
    return Status::NotFound("item '" + item + "' is not in the catalogue");
  }
  const engine::PipelineContext ctx = PipelineContextFor(which);
  std::vector<engine::PipelineItem> top;
  engine::SimilarItems(ctx, *idx, k, &top);
  for (engine::PipelineItem& p : top) {
    result.items.push_back(Recommendation{
        item_ids_.external(p.item), p.score, std::move(p.reason), false, std::move(p.source), {}});
  }
  return result;
}

Status Engine::Impl::SerializeStateLocked(std::vector<engine::SnapshotSection>* sections) const {
  const uint64_t seq = applied_seq_.load(std::memory_order_acquire);
  auto add = [&](std::string name) -> std::string* {
    sections->push_back(engine::SnapshotSection{std::move(name), {}});
    return &sections->back().payload;
  };
  {
    const json meta = {{"models", ModelsToJson(model_specs_)},
                       {"seq", seq},
                       {"last_event_ms", last_event_ms_},
                       {"users", user_ids_.size()},
                       {"items", item_ids_.size()}};
    base::ByteWriter w(add("meta"));
    w.PutString(meta.dump());
  }
  {
    base::ByteWriter w(add("user_ids"));
    user_ids_.Save(&w);
  }
  {
    base::ByteWriter w(add("item_ids"));
    item_ids_.Save(&w);
  }
  {
    base::ByteWriter w(add("user_states"));
    users_.Save(&w);
  }
  {
    base::ByteWriter w(add("dedup"));
    std::lock_guard lock(ingest_mu_);
    dedup_.Save(seq, &w);
  }
  {
    base::ByteWriter w(add("catalog"));
    catalog_.Save(&w);
  }
  for (size_t i = 0; i < models_.size(); ++i) {
    base::ByteWriter w(add("model/" + model_specs_[i].name));
    FLYWHEEL_RETURN_IF_ERROR(models_[i]->SaveState(&w));
  }
  return Status::Ok();
}

Result<uint64_t> Engine::Impl::WriteSnapshot(size_t keep) {
  std::lock_guard snapshot_lock(snapshot_mu_);
  std::vector<engine::SnapshotSection> sections;
  uint64_t seq = 0;
  {
    std::shared_lock state(state_mu_);
    seq = applied_seq_.load(std::memory_order_acquire);
    FLYWHEEL_RETURN_IF_ERROR(SerializeStateLocked(&sections));
  }
  // The log must be durable through `seq` before a snapshot claims it (interval mode).
  FLYWHEEL_RETURN_IF_ERROR(writer_->Sync());
  const std::string bytes = engine::EncodeSnapshot(seq, sections);
  FLYWHEEL_RETURN_IF_ERROR(
      engine::WriteFileAtomically(env_, snapshot_dir_, engine::SnapshotFileName(seq), bytes));
  snapshot_seq_.store(seq);
  snapshots_written_.fetch_add(1);
  FLYWHEEL_RETURN_IF_ERROR(
      ApplyRetention(keep > 0 ? keep : static_cast<size_t>(options_.keep_snapshots)));
  return seq;
}

Status Engine::Impl::ApplyRetention(size_t keep) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, engine::ListSnapshots(env_, snapshot_dir_));
  for (size_t i = keep; i < seqs.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(
        env_->RemoveFile(io::JoinPath(snapshot_dir_, engine::SnapshotFileName(seqs[i]))));
  }
  if (seqs.size() > keep) {
    FLYWHEEL_RETURN_IF_ERROR(env_->SyncDir(snapshot_dir_));
  }
  if (!seqs.empty()) {
    // Keep the log from the oldest kept snapshot on, so recovery can fall back to it.
    const uint64_t oldest = seqs[std::min(keep, seqs.size()) - 1];
    FLYWHEEL_RETURN_IF_ERROR(writer_->RemoveSegmentsBefore(oldest + 1));
  }
  return Status::Ok();
}

Result<PretrainResult> Engine::Impl::Pretrain(const std::string& model_name) {
  FLYWHEEL_ASSIGN_OR_RETURN(size_t which, ModelIndex(model_name));
  {
    std::lock_guard lock(ingest_mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  }
  PretrainResult result;
  result.model = model_specs_[which].name;
  {
    std::unique_lock state(state_mu_);
    result.through_seq = applied_seq_.load();
    const ModelSpec& spec = model_specs_[which];
    FLYWHEEL_ASSIGN_OR_RETURN(
        std::unique_ptr<model::Recommender> fresh,
        model::CreateRecommender(spec.name,
                                 model::ModelParams(spec.params.begin(), spec.params.end())));
    // Item content: what the catalogue kept (title, categories), then the full records still in
    // the log, in log order (as recovery gives them to the live model).
    for (ItemIdx i = 0; i < catalog_.num_items(); ++i) {
      const engine::ItemInfo* info = catalog_.item(i);
      if (info != nullptr && info->has_content) {
        Item item;
        item.id = item_ids_.external(i);
        item.title = info->title;
        for (uint32_t c : info->categories) {
          item.categories.push_back(catalog_.category(c));
        }
        item.created_ms = info->created_ms;
        fresh->SetItemContent(i, item);
      }
    }
    wal::ReaderOptions reader_options;
    reader_options.tolerate_corruption = options_.skip_corruption;
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                              wal::LogReader::Open(env_, wal_dir_, reader_options));
    std::vector<data::Interaction> history;
    wal::LogRecord record;
    while (true) {
      FLYWHEEL_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
      if (!more || record.seq > result.through_seq) {
        break;
      }
      if (result.first_seq == 0) {
        result.first_seq = record.seq;
      }
      const Event& event = record.event;
      if (event.type == engine::kItemPutType) {
        Result<Item> item = engine::DecodeItemPut(event);
        const std::optional<uint32_t> idx = item.ok() ? item_ids_.Find(item->id) : std::nullopt;
        if (idx) {
          fresh->SetItemContent(*idx, *item);
        }
        continue;
      }
      if (engine::IsControl(event)) {
        continue;
      }
      const std::optional<uint32_t> user = user_ids_.Find(event.user);
      const std::optional<uint32_t> item = item_ids_.Find(event.item);
      const Result<EventTypeId> type = types_.Find(event.type);
      if (!user || !item || !type.ok()) {
        ++result.skipped;
        continue;
      }
      data::Interaction x;
      x.user = *user;
      x.item = *item;
      x.ts_ms = event.ts_ms;
      x.value = static_cast<float>(event.value);
      x.weight = types_.type(*type).weight;
      x.type = *type;
      history.push_back(x);
    }
    std::stable_sort(
        history.begin(), history.end(),
        [](const data::Interaction& a, const data::Interaction& b) { return a.ts_ms < b.ts_ms; });
    result.events = history.size();
    const auto start = std::chrono::steady_clock::now();
    FLYWHEEL_RETURN_IF_ERROR(fresh->Fit(history));
    result.seconds = SecondsSince(start);
    retired_models_.push_back(std::move(models_[which]));  // the indexer may still read it
    models_[which] = std::move(fresh);
    if (engine::ItemVectorIndex* v = vector_index_ptrs_[which].load(std::memory_order_acquire)) {
      for (ItemIdx i = 0; i < item_ids_.size(); ++i) {
        v->MarkDirty(i);  // every vector moved: the indexer re-indexes them
      }
    }
  }
  FLYWHEEL_ASSIGN_OR_RETURN(result.snapshot_seq, Snapshot());
  return result;
}

Result<uint64_t> Engine::Impl::Snapshot() {
  {
    std::lock_guard lock(ingest_mu_);
    FLYWHEEL_RETURN_IF_ERROR(CheckWritableLocked());
  }
  return WriteSnapshot();
}

EngineStats Engine::Impl::stats() const {
  EngineStats s;
  s.last_seq = last_seq_.load();
  s.durable_seq = writer_ != nullptr ? std::min(writer_->SyncedThrough(), s.last_seq) : s.last_seq;
  s.applied_seq = applied_seq_.load();
  s.duplicates = duplicates_.load();
  {
    std::shared_lock state(state_mu_);
    s.users = user_ids_.size() - forgotten_users_;
    s.items = item_ids_.size() - catalog_.deleted_count();
    s.deleted_items = catalog_.deleted_count();
    s.forgotten_users = forgotten_users_;
  }
  for (const auto& index : vector_index_ptrs_) {
    if (const engine::ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
      s.vector_index_items += v->indexed();
      s.vector_index_upserts += v->upserts();
    }
  }
  s.snapshot_seq = snapshot_seq_.load();
  s.snapshots_written = snapshots_written_.load();
  for (const ModelSpec& m : model_specs_) {
    s.models.push_back(m.name);
  }
  s.freshness_ms_p50 = freshness_.Quantile(0.5);
  s.freshness_ms_p99 = freshness_.Quantile(0.99);
  s.freshness_count = freshness_.count();
  s.ingest_ms_p50 = ingest_latency_.Quantile(0.5);
  s.ingest_ms_p99 = ingest_latency_.Quantile(0.99);
  s.recovered_snapshot_seq = recovered_snapshot_seq_;
  s.replayed_events = replayed_events_;
  s.recovery_seconds = recovery_seconds_;
  std::lock_guard lock(applied_mu_);
  s.recovery_messages = recovery_messages_;
  return s;
}

std::string Engine::Impl::MetricsText() const {
  const EngineStats s = stats();
  std::string out;
  auto gauge = [&](const char* name, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(value) + "\n";
  };
  gauge("flywheel_last_seq", "Highest sequence number logged.", s.last_seq);
  gauge("flywheel_durable_seq", "Highest sequence number known durable.", s.durable_seq);
  gauge("flywheel_applied_seq", "Highest sequence number applied by the learner.", s.applied_seq);
  gauge("flywheel_users", "Users known (forgotten ones excluded).", s.users);
  gauge("flywheel_items", "Items known (deleted ones excluded).", s.items);
  gauge("flywheel_deleted_items", "Items deleted from the catalogue.", s.deleted_items);
  gauge("flywheel_forgotten_users", "Users forgotten on request.", s.forgotten_users);
  gauge("flywheel_vector_index_items", "Items in the models' ANN indexes.", s.vector_index_items);
  gauge("flywheel_vector_index_upserts", "ANN index insertions and updates since start.",
        s.vector_index_upserts);
  gauge("flywheel_duplicates", "Duplicate events acknowledged since start.", s.duplicates);
  gauge("flywheel_snapshot_seq", "Sequence number of the newest snapshot.", s.snapshot_seq);
  out +=
      "# HELP flywheel_freshness_seconds Acknowledgement to applied by the learner.\n"
      "# TYPE flywheel_freshness_seconds histogram\n";
  out += freshness_.Prometheus("flywheel_freshness_seconds", "");
  out +=
      "# HELP flywheel_ingest_ack_seconds Ingest call to acknowledgement.\n"
      "# TYPE flywheel_ingest_ack_seconds histogram\n";
  out += ingest_latency_.Prometheus("flywheel_ingest_ack_seconds", "");
  return out;
}

Result<uint32_t> Engine::Impl::StateDigest() const {
  std::vector<engine::SnapshotSection> sections;
  {
    std::shared_lock state(state_mu_);
    FLYWHEEL_RETURN_IF_ERROR(SerializeStateLocked(&sections));
  }
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
  uint64_t last = 0;
  {
    std::lock_guard lock(ingest_mu_);
    if (closed_) {
      return Status::FailedPrecondition("engine: closed");
    }
    closed_ = true;
    last = next_seq_ - 1;
  }
  StopLearner();  // drains the queue first
  Status st;
  if (last != applied_seq_.load()) {
    st = Status::Internal("engine: learner stopped at " + std::to_string(applied_seq_.load()) +
                          " of " + std::to_string(last));
  }
  bool healthy = false;
  {
    std::lock_guard lock(ingest_mu_);
    healthy = failure_.ok();
  }
  if (options_.read_only) {
    return st;
  }
  if (st.ok() && healthy && options_.snapshot_on_close && applied_seq_.load() > 0 &&
      applied_seq_.load() != snapshot_seq_.load()) {
    st = WriteSnapshot().status();
  }
  Status closed = writer_->Close();
  return st.ok() ? closed : st;
}

// ------------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  FLYWHEEL_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<uint64_t> Engine::PutItem(const Item& item) {
  return impl_->PutItem(item);
}
Result<uint64_t> Engine::DeleteItem(const std::string& id) {
  return impl_->DeleteItem(id);
}
Result<uint64_t> Engine::PutUser(const User& user) {
  return impl_->PutUser(user);
}
Result<ForgetResult> Engine::ForgetUser(const std::string& id) {
  return impl_->ForgetUser(id);
}

Result<IngestResult> Engine::Ingest(std::span<const Event> events) {
  return impl_->Ingest(events);
}
std::vector<EventError> Engine::Validate(std::span<const Event> events) const {
  return impl_->Validate(events);
}
Result<RecommendResult> Engine::Similar(const std::string& item, int k,
                                        const std::string& model) const {
  return impl_->Similar(item, k, model);
}

Result<RecommendResult> Engine::Recommend(const RecommendQuery& query) const {
  return impl_->Recommend(query);
}
Status Engine::WaitForApplied(uint64_t seq, int timeout_ms) const {
  return impl_->WaitForApplied(seq, timeout_ms);
}
Result<PretrainResult> Engine::Pretrain(const std::string& model) {
  return impl_->Pretrain(model);
}
Result<uint64_t> Engine::Snapshot() {
  return impl_->Snapshot();
}
EngineStats Engine::stats() const {
  return impl_->stats();
}
std::string Engine::MetricsText() const {
  return impl_->MetricsText();
}
Result<uint32_t> Engine::StateDigest() const {
  return impl_->StateDigest();
}
Status Engine::Close() {
  return impl_->Close();
}

}  // namespace flywheel
