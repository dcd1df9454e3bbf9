// Engine: the durable, incrementally learning core of a Flywheel server (doc/engine.md).
//
// An engine owns a data directory:
//   D/engine.json            the model configuration the directory was created with
//   D/LOCK                   held (fcntl) while an engine has the directory open
//   D/wal/NNNNNN.log         the event log (doc/formats/event_log.md)
//   D/snapshots/snap-<seq>.fws  snapshots of the learned state (doc/formats/snapshot.md)
//
// Write path: Ingest(batch) validates every event (nothing is logged if one is invalid), drops
// events whose id was seen before (acknowledged, not applied twice), assigns consecutive
// sequence numbers, appends the batch to the log and returns once it is durable under the
// configured mode ("sync": after fdatasync; "interval:<ms>": after write(), durable within the
// interval: see durable_seq()). The batch then goes to the single learner thread, which applies
// events in log order to the id maps, the per-user state and every configured model (Observe).
// A failed write or fdatasync is fatal: every later Ingest fails with the first error.
//
// Read path: Recommend() ranks items for a user with a configured model. Readers and the learner
// share the learned state through a reader-writer lock taken per event by the learner and per
// request by a reader: a reader waits at most for one event's update, the learner at most for
// the requests in flight (doc/engine.md discusses this bound and the lock-free alternative).
//
// Recovery (Open): load the newest valid snapshot, replay the log after its sequence number, cut
// a torn tail; corruption before the tail refuses to open unless skip_corruption is set. With
// deterministic models the state after recovery is bit-identical to an uninterrupted run over the
// same events (StateDigest() makes that checkable).
//
// Thread safety: all methods may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/event_types.h"
#include "flywheel/impression.h"
#include "flywheel/loop_options.h"
#include "flywheel/model_spec.h"
#include "flywheel/pipeline_options.h"
#include "flywheel/recovery_report.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

namespace flywheel {

namespace io {
class Env;
}  // namespace io

struct EngineOptions {
  std::string data_dir;
  // "sync" or "interval:<ms>" (1..60000).
  std::string durability = "sync";
  // The models the learner trains; the first one serves Recommend unless a query names another.
  // Empty: the configuration stored in the data directory (engine.json), or {"pop"} for a new
  // directory. A non-empty list must equal the stored one (kFailedPrecondition otherwise).
  std::vector<ModelSpec> models;
  // Automatic snapshot after this many applied events since the last one (0: no count limit),
  // or at the first event applied snapshot_interval_ms (0: no time limit) after the last one,
  // whichever comes first; both 0: only on demand. Bounds the log that recovery replays.
  uint64_t snapshot_every = 100'000;
  uint64_t snapshot_interval_ms = 300'000;
  // Snapshots kept (>= 2: one bad snapshot falls back to the previous one and the log since
  // it); the log is kept from the oldest kept snapshot on.
  int keep_snapshots = 3;
  // Write a snapshot in Close() when events were applied since the last one.
  bool snapshot_on_close = true;
  // Skip damaged log spans before the tail during recovery (the events in them are lost and
  // counted) instead of refusing to open.
  bool skip_corruption = false;
  // Event ids remembered for idempotency (the most recent ones, FIFO).
  size_t dedup_window = 1'000'000;
  // Recent interactions kept per user.
  size_t user_history = 200;
  // A `rating` event whose value is below this is negative feedback (a dislike: never a seed
  // of neighbours, never a reason; models that learn from negatives learn it as one); at or
  // above it, a positive. Finite; the default suits 5-point scales (doc/engine.md, "Ratings").
  double rating_threshold = 3.5;
  // Log segment size before rollover.
  uint64_t segment_bytes = 64ull << 20;
  // Recover and serve reads only: no log writer, no configuration written, Ingest and
  // Snapshot fail with kFailedPrecondition (for inspection while nothing else runs, and for
  // `serve --read-only` on a full disk: opening writes nothing at all).
  bool read_only = false;
  // false: a delta replica (doc/stream.md, "Delta mode"): the models that support deltas take
  // no training step from events (they still note items and counts); their parameters come
  // from ApplyModelDelta. Models without delta support learn as usual. Pretrain is refused.
  bool model_learning = true;
  // After a full disk, writes are refused (kUnavailable) for this long, doubling to 30 s while
  // the disk stays full; then a write (or a stats() call) tries again (doc/engine.md, "Disk
  // full"). 0: try again at every call (tests).
  int disk_full_retry_ms = 1000;
  PipelineOptions pipeline;
  // Impressions, attribution, exploration policies (doc/loop.md).
  LoopOptions loop;
  // Event types and weights on top of the defaults (flywheel/event_types.h):
  // "name=weight[,name=weight...]"; a new name adds a type. Stored in engine.json. Empty: the
  // directory's stored types (the defaults for a new directory). A non-empty spec replaces the
  // stored one and must keep its types in their order (the log and the snapshots refer to them;
  // new names are appended): kFailedPrecondition otherwise.
  std::string event_types;
  // File-system interface (tests inject faults); null: the real one. Not owned.
  io::Env* env = nullptr;
};

struct IngestResult {
  size_t accepted = 0;    // events logged (new)
  size_t duplicates = 0;  // events whose id was already known: acknowledged, not logged again
  // Impression records logged before events naming a list (doc/loop.md, "Impressions"):
  // they take sequence numbers among the events'.
  size_t impressions = 0;
  uint64_t first_seq = 0;  // sequence number of the first logged record (0 when none was new)
  uint64_t last_seq = 0;   // the highest sequence number assigned so far (after this batch)
};

// One invalid event of a batch: its index in the batch, the field (may be empty) and why.
struct EventError {
  size_t index = 0;
  std::string field;
  std::string message;
};

struct RecommendQuery {
  std::string user;                     // external id; an unknown user gets non-personal results
  int k = 10;                           // 1..1000
  bool exclude_seen = true;             // leave out items the user interacted with
  std::string model;                    // a configured model name; empty: the first one
  TimestampMs now_ms = 0;               // request time; 0: the time of the last applied event
  std::vector<std::string> categories;  // non-empty: only items in one of these categories
  bool explain = false;                 // fill Recommendation::because
  // The exploration policy (doc/loop.md, "Exploration policies"); empty: EngineOptions::loop's
  // policy for this user (its experiment arm).
  std::string policy;
  // Log the answer as an impression before returning it (the list will be shown as it is).
  bool record_impression = false;
};

struct Recommendation {
  std::string item;  // external id
  // The ranking model's score (scales per model: doc/http_api.md, "Scores"); for answers not
  // personalised (unknown users) the item's trending count (see trending_count).
  float score = 0.0f;
  std::string reason;  // "because you viewed Heat", "popular in drama now", "new in jazz"
  // The reason as data: its kind ("because", "because_similar", "popular", "new", "for_you",
  // "similar") and the item it names (the user's recent item; empty when none).
  std::string reason_kind;
  std::string reason_item;
  bool exploration = false;  // placed by exploration (a new item, or the policy's sampling)
  // P(the policy shows this item at this slot) and P(this item here | the items above); see
  // flywheel/impression.h. 1 and 1 for a greedy list.
  double propensity = 1.0;
  double step = 1.0;
  std::string source;  // candidate source: model, neighbours, trending, new
  // With explain: the user's recent items supporting this one and their shares (sum 1).
  std::vector<std::pair<std::string, float>> because;
  // With explain, for an item placed by popularity (reason_kind "popular"): its trending count
  // at the request time (the weights of its positive events, each halved every
  // trending_half_life_hours of event time; doc/engine.md, "Trending"). -1: not given.
  double trending_count = -1;
  double trending_half_life_hours = 0;
};

struct RecommendResult {
  std::vector<Recommendation> items;
  std::string model;         // the model that ranked them
  uint64_t applied_seq = 0;  // the state they reflect: events up to this sequence number
  bool known_user = false;
  // Names this answer in later impressions and events (16 hex digits; doc/loop.md).
  std::string recommendation_id;
  std::string policy;           // the canonical spec of the policy that chose the list
  uint64_t impression_seq = 0;  // record_impression: the `$impression` record's sequence number
  // Names of RecommendQuery::categories the catalogue does not know (no item has them): they
  // match nothing, so a query naming only unknown ones answers an empty list.
  std::vector<std::string> unknown_categories;
};

struct ForgetResult {
  uint64_t seq = 0;           // sequence number of the deletion record
  uint64_t snapshot_seq = 0;  // the snapshot written after it (older ones are erased)
};

struct PretrainResult {
  std::string model;
  uint64_t through_seq = 0;   // the log was read up to this applied sequence number
  uint64_t first_seq = 0;     // first sequence number still in the log (1: the whole history)
  uint64_t events = 0;        // events the model was fitted on
  uint64_t skipped = 0;       // events of users forgotten since (their ids are gone)
  double seconds = 0;         // the Fit
  uint64_t snapshot_seq = 0;  // the snapshot written with the pre-trained model
};

struct EngineStats {
  uint64_t last_seq = 0;     // highest sequence number logged
  uint64_t durable_seq = 0;  // highest sequence number known durable
  // Highest sequence number applied by the learner with what derives from it (the trending
  // lists) published: a request made after it is read reflects every event up to it.
  uint64_t applied_seq = 0;
  uint64_t duplicates = 0;  // duplicate events acknowledged since open
  uint64_t users = 0;       // known users, forgotten ones excluded
  uint64_t items = 0;       // known items, deleted ones excluded
  uint64_t deleted_items = 0;
  uint64_t forgotten_users = 0;
  uint64_t vector_index_items = 0;    // items in the models' ANN indexes (all models)
  uint64_t vector_index_upserts = 0;  // index insertions and updates since open
  uint64_t snapshot_seq = 0;          // sequence number of the newest snapshot (0: none)
  uint64_t snapshots_written = 0;
  std::vector<std::string> models;  // "name" of each configured model
  // Freshness: time from an event's acknowledgement to the learner having applied it (the
  // user's next recommendation reflects it), over all events since open.
  double freshness_ms_p50 = 0;
  double freshness_ms_p99 = 0;
  uint64_t freshness_count = 0;
  // Ingest call latency (validation to acknowledgement).
  double ingest_ms_p50 = 0;
  double ingest_ms_p99 = 0;
  // The write path (doc/engine.md, "Disk full"): "ready"; "read_only" (opened read-only);
  // "disk_full" (writes are refused until space is freed: retried after write_retry_after_s,
  // reads go on); "failed" (a fatal log error, e.g. a failed fdatasync: writes need a restart);
  // "closed". Reading it re-checks a full disk once its back-off has passed.
  std::string write_state = "ready";
  std::string write_error;      // why, when not "ready"/"read_only" (empty otherwise)
  int write_retry_after_s = 0;  // "disk_full": seconds until writes are tried again (>= 1)
  // Recovery at Open.
  uint64_t recovered_snapshot_seq = 0;  // 0: started from an empty state
  uint64_t replayed_events = 0;
  double recovery_seconds = 0;
  std::vector<std::string> recovery_messages;  // torn tail cut, snapshot skipped, ...
  RecoveryReport recovery;                     // everything recovery did (recovery_report.h)
  ImpressionStats impressions;                 // impressions and attribution (impression.h)
};

// A hypothetical event for DryRun: `item` (known to the engine), `type` (an event type name),
// `value` (finite).
struct DryRunEvent {
  std::string item;
  std::string type;
  double value = 1.0;
};

// DryRun's answer: the recommendations now, and as they would be with the event applied to the
// user's state (doc/engine.md, "Dry run", says exactly which parts).
struct DryRunResult {
  RecommendResult before;
  RecommendResult after;
};

// One event of a user's recent history (GetUser).
struct UserHistoryEntry {
  std::string item;
  std::optional<std::string> title;  // the item's catalogue title (nullopt: none)
  std::string type;                  // the event type's name
  std::optional<double> value;       // the event's value (nullopt: not recorded, older state)
  TimestampMs ts_ms = 0;
};

// What the engine knows about one user (GetUser).
struct UserDetail {
  std::string id;
  KeyValues attributes;
  uint64_t events = 0;                    // every event of the user applied so far
  std::vector<UserHistoryEntry> history;  // the most recent first, at most the limit asked
};

// What the engine knows about one item (GetItem).
struct ItemDetail {
  std::string id;
  std::optional<std::string> title;  // nullopt: no catalogue content (or an empty title)
  std::vector<std::string> categories;
  std::vector<std::string> tags;
  KeyValues attributes;
  TimestampMs created_ms = 0;  // from its content; 0 when unknown
  bool deleted = false;
  uint64_t events = 0;  // interactions applied (any event type)
};

// The bytes the data directory holds (doc/engine.md, "Data directory").
struct StorageStats {
  uint64_t log_bytes = 0;  // event log segment files (D/wal/*.log)
  uint64_t log_segments = 0;
  uint64_t snapshot_bytes = 0;  // snapshot files (D/snapshots/snap-*.fws)
  uint64_t snapshots = 0;
};

// One model's delta (Engine::ExportModelDeltas; the bytes' format: the model's, e.g.
// src/model/sasrec_delta.cc).
struct ModelDelta {
  size_t index = 0;    // the model's position in EngineOptions::models
  std::string model;   // its name
  bool full = false;   // holds everything (asked for, or the first export after open/pretrain)
  bool dense = false;  // holds the dense weights
  size_t rows = 0;     // parameter rows it holds
  uint64_t seq = 0;    // the state it reflects: every record up to seq applied
  std::string bytes;
};

class Engine {
 public:
  // Opens (creating if needed) and recovers the data directory, then starts the learner.
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  // Stops the learner without a snapshot and closes the log without syncing (what a crash
  // leaves, minus the lost page cache). Call Close() for a clean shutdown.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and logs a batch (see the header comment). kInvalidArgument naming the first bad
  // event ("event 3: field 'ts': ...") when one is invalid: nothing is logged then.
  Result<IngestResult> Ingest(std::span<const Event> events);
  // Every invalid event of a batch (empty when all are valid); for per-event error reports.
  std::vector<EventError> Validate(std::span<const Event> events) const;

  // Catalogue operations (doc/engine.md, "Catalogue"): validated like events (kInvalidArgument
  // naming the field), logged as control records (durable under the configured mode, like
  // Ingest) and applied by the learner in log order. Each returns the record's sequence number.
  //   PutItem: content (a new item is known at once, content-aware models can rank it; a
  //            deleted item comes back). DeleteItem: never recommended again (until PutItem);
  //            kNotFound for an item not in the catalogue (never seen, or already deleted),
  //            judged once everything logged before the call is applied.
  //   PutUser: attributes.
  Result<uint64_t> PutItem(const Item& item);
  // Many items as one group: every item is validated first (kInvalidArgument "item 3: ..."
  // with field() "items[3].<field>" for the first bad one, "items[3].id" for an id repeated in
  // the batch; nothing is logged then), then all are logged with one write (one fdatasync in
  // sync mode) and applied in order. Returns the first record's sequence number (the others
  // follow consecutively). kInvalidArgument for an empty span.
  Result<uint64_t> PutItems(std::span<const Item> items);
  Result<uint64_t> DeleteItem(const std::string& id);
  Result<uint64_t> PutUser(const User& user);
  // Forgets a user: once applied, the user's id, state, model rows and attributes are gone
  // from serving (the id, if seen again, is a new user). Returns after a snapshot was written
  // and every older snapshot and every log segment holding the user's events was removed, so
  // no later recovery replays them. Aggregates learned from those events are kept. Costs a
  // snapshot per call.
  Result<ForgetResult> ForgetUser(const std::string& id);

  // Batch pre-training (transfer, then online fine-tuning): fits a fresh instance of the
  // configured `model` on every event still in the log (in time order, with the catalogue's
  // item content), puts it in place of the live one, which then keeps learning online from each
  // new event, and writes a snapshot. Holds the state lock for the whole Fit: the learner and
  // readers wait (events are still acknowledged), so run it offline (`flywheel pretrain`) or in
  // a maintenance window. Only the log since the oldest retained segment is used (first_seq).
  Result<PretrainResult> Pretrain(const std::string& model);

  Result<RecommendResult> Recommend(const RecommendQuery& query) const;
  // Logs a list as shown (doc/loop.md, "Impressions"): from the served-list cache when its
  // recommendation id is there, else the explicit items. kNotFound for an unknown id without
  // items; kInvalidArgument naming `items[i]` for an unknown or repeated item; an id recorded
  // before is acknowledged as a duplicate and not logged again. Durable like Ingest.
  Result<ImpressionResult> RecordImpression(const ImpressionInput& input);
  // Off-policy evaluation (doc/loop.md, "Exploration policies"): with the state now, the
  // marginal probability that query.policy (empty: greedy; with query.model, k and filters)
  // would show each `shown` item at its position, 0 when it cannot; the same stages as
  // Recommend. `steps`, when not null, gets P(item at its position | the shown items above)
  // (NaN unless the positions are 0..n-1). `seed` seeds the Monte Carlo estimators.
  // kInvalidArgument for a bad policy or a position >= query.k.
  Result<std::vector<double>> Propensities(const RecommendQuery& query,
                                           std::span<const ShownItem> shown,
                                           std::vector<double>* steps = nullptr,
                                           uint64_t seed = 0) const;
  // Recommend(query) twice from the same state: as it is, and with `event` appended to a copy
  // of the user's state (recent history and seen set: the seeds of neighbour candidates and
  // reasons, the seen filter, and every model query derived from the history). Nothing is
  // logged or applied and no model is changed (doc/engine.md, "Dry run"). kNotFound naming
  // the item for an unknown item; kInvalidArgument with field "event.type" / "event.value".
  Result<DryRunResult> DryRun(const RecommendQuery& query, const DryRunEvent& event) const;
  // A user's attributes, event count and recent history (newest first, at most `limit`
  // entries, 1..10000; the engine keeps EngineOptions::user_history). kNotFound for a user
  // never seen (or forgotten).
  Result<UserDetail> GetUser(const std::string& id, int limit) const;
  // An item's catalogue record and interaction count; kNotFound for an id never seen. Deleted
  // items are found (deleted = true).
  Result<ItemDetail> GetItem(const std::string& id) const;
  // Items similar to `item` (the model's vectors; trending items of its categories for models
  // without vectors). kNotFound for an unknown item.
  Result<RecommendResult> Similar(const std::string& item, int k, const std::string& model) const;

  // Blocks until the learner applied `seq` and published what derives from it (the trending and
  // new-item lists), or timeout: kDeadlineExceeded.
  Status WaitForApplied(uint64_t seq, int timeout_ms) const;
  // Writes a snapshot of the state now (after syncing the log) and applies retention. Returns
  // its sequence number.
  Result<uint64_t> Snapshot();

  EngineStats stats() const;
  // The event types this engine accepts (the defaults with the directory's event_types).
  const EventTypeTable& event_types() const;
  // Sizes of the log and snapshot files now (lists the directories: not for hot paths).
  Result<StorageStats> Storage() const;
  // The bucket counts of the freshness histogram (the layout of base::AtomicHistogram, 24
  // log-spaced buckets per decade from 1 us), for percentiles over an interval: the difference
  // of two calls counts the events applied in between.
  std::vector<uint64_t> FreshnessBuckets() const;
  // Prometheus text lines for the engine's counters and histograms (flywheel_* names).
  std::string MetricsText() const;

  // CRC32C of the serialised learned state (id maps, user states, models) at the applied
  // sequence number: equal digests mean bit-identical state.
  Result<uint32_t> StateDigest() const;

  // Delta replication (doc/stream.md, "Delta mode"). Trainer: for each model that supports
  // deltas, what it learned since its previous export (rows; the dense weights too when
  // `dense`; everything when `full`), taken under the state lock at `seq`. Models without
  // deltas are left out (a delta replica replays them). Replica: applies one (to the model at
  // `delta.index`, which must have the same name); kFailedPrecondition while model_learning is
  // on or for another model, kCorruption for malformed bytes (nothing applied then).
  Result<std::vector<ModelDelta>> ExportModelDeltas(bool dense, bool full = false);
  Status ApplyModelDelta(const ModelDelta& delta);

  // Waits for the learner to apply everything logged, snapshots if configured, syncs and closes
  // the log. Later calls fail with kFailedPrecondition.
  Status Close();

 private:
  class Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flywheel
