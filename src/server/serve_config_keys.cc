// The table of `flywheel serve`'s configuration keys (server/serve_config.h): adding a key is one
// entry here. Defaults equal the option structs' (serve_config_test checks it).
#include <string>

#include "flywheel/event_types.h"

#include "server/serve_config.h"
#include "wal/log_writer.h"

namespace flywheel::server {
namespace {

using nlohmann::json;
using T = ConfigType;

Status CheckDurability(const json& value) {
  return wal::Durability::Parse(value.get<std::string>()).status();
}

Status CheckEventTypes(const json& value) {
  return EventTypeTable::Parse(value.get<std::string>()).status();
}

Status CheckAnn(const json& value) {
  const std::string ann = value.get<std::string>();
  if (ann != "hnsw" && ann != "flat" && ann != "none") {
    return Status::InvalidArgument("expected one of hnsw, flat, none, got '" + ann + "'");
  }
  return Status::Ok();
}

constexpr double kMaxCount = 1e12;

// Keys of the HTTP server: address, threads, limits, API keys.
std::vector<ConfigKeySpec> HttpKeys() {
  // clang-format off
  return {
      {"data_dir", T::kString, R"("")", 0, 0, "", "data-dir",
       "the data directory (created if missing; required)"},
      {"host", T::kString, R"("127.0.0.1")", 0, 0, "", "host",
       "address to listen on; any other than loopback needs at least one API key"},
      {"port", T::kInt, "8080", 0, 65535, "", "port", "TCP port (0: any free port)"},
      {"threads", T::kInt, "8", 1, 1024, "", "",
       "HTTP worker threads (more than cores: a request waiting on fdatasync must not hold up "
       "reads)"},
      {"max_body_bytes", T::kInt, "8388608", 1024, 1 << 30, "", "",
       "largest request body accepted (413 above)"},
      {"max_body_bytes_in_flight", T::kInt, "268435456", 1024, 1ll << 40, "", "",
       "request-body bytes all connections may hold at once; a body that does not fit is "
       "answered 503 with Retry-After before it is read"},
      {"rate_limit.key_rps", T::kDouble, "0", 0, 1e9, "", "rate-limit-key",
       "requests per second per API key (each key has its own token bucket; 429 with "
       "Retry-After beyond); 0: no limit"},
      {"rate_limit.key_burst", T::kDouble, "0", 0, 1e9, "", "",
       "requests a key may make at once above its rate (bucket size); 0: twice the rate"},
      {"rate_limit.ip_rps", T::kDouble, "50", 0, 1e9, "", "rate-limit-ip",
       "requests per second per client IP address for requests without a valid key (open "
       "routes, failed authentication); loopback clients are exempt; 0: no limit"},
      {"rate_limit.ip_burst", T::kDouble, "0", 0, 1e9, "", "",
       "requests a client address may make at once above its rate; 0: twice the rate"},
      {"keys.read", T::kString, R"("")", 0, 0, "FLYWHEEL_READ_KEY", "",
       "API key of scope read (GET routes)", nullptr, true},
      {"keys.write", T::kString, R"("")", 0, 0, "FLYWHEEL_WRITE_KEY", "",
       "API key of scope write (events, items, users; read routes too)", nullptr, true},
      {"keys.admin", T::kString, R"("")", 0, 0, "FLYWHEEL_ADMIN_KEY", "",
       "API key of scope admin (snapshot, forget a user; every route)", nullptr, true},
  };
  // clang-format on
}

// Keys of the data directory's durability, snapshots and recovery.
std::vector<ConfigKeySpec> StoreKeys() {
  // clang-format off
  return {
      {"durability", T::kString, R"("sync")", 0, 0, "", "durability",
       "when an event is acknowledged: `sync` (after fdatasync) or `interval:<ms>` (1..60000: "
       "after write(), durable within the interval)", &CheckDurability},
      {"read_only", T::kBool, "false", 0, 0, "", "read-only",
       "serve reads only: the open writes nothing (no log segment, no snapshot, no torn tail "
       "cut), so it starts on a full or read-only disk; writes get 503 (doc/operations.md, "
       "\"Disk full\")"},
      {"snapshot_every", T::kInt, "100000", 0, kMaxCount, "", "snapshot-every",
       "automatic snapshot after this many applied events, or after `snapshot_interval_s`, "
       "whichever comes first (0: no count limit; both 0: only on demand and at shutdown); "
       "bounds the log that a restart replays"},
      {"snapshot_interval_s", T::kInt, "300", 0, 30 * 86400, "", "snapshot-interval",
       "automatic snapshot at the first event applied this many seconds after the last snapshot "
       "(0: no time limit)"},
      {"keep_snapshots", T::kInt, "3", 2, 1000, "", "keep-snapshots",
       "snapshots kept (>= 2: a damaged one falls back to the previous one); the log is kept "
       "from the oldest kept one on"},
      {"skip_corruption", T::kBool, "false", 0, 0, "", "skip-corruption",
       "start past damaged log spans and a log cut short, losing their events (each is named in "
       "the recovery report: GET /v1/stats \"recovery\"); for a copy that keeps everything "
       "recoverable use flywheel repair"},
  };
  // clang-format on
}

// Keys of models, event types and the serving stages.
std::vector<ConfigKeySpec> ModelAndPipelineKeys() {
  // clang-format off
  return {
      {"models", T::kString, R"("")", 0, 0, "", "models",
       "models of a new data directory, comma-separated (`flywheel models`); empty: the "
       "directory's own (engine.json), `pop` for a new one. Must equal an existing directory's"},
      {"params", T::kStringList, "[]", 0, 0, "", "param",
       "model hyper-parameters `MODEL.KEY=VALUE` (doc/params.md)"},
      {"event_types", T::kString, R"("")", 0, 0, "", "event-types",
       "event types and weights on top of the defaults, `name=weight,...` (a new name adds a "
       "type, positive when its weight > 0; doc/config.md#event-types)", &CheckEventTypes},
      {"rating_threshold", T::kDouble, "3.5", -1e6, 1e6, "", "rating-threshold",
       "ratings below this value are negative feedback for learning and never a reason "
       "(doc/engine.md, \"Ratings\"; 5-point scales: 3.5)"},
      {"pipeline.candidates", T::kInt, "50", 1, 10000, "", "",
       "candidates retrieved from the model (ANN or exact)"},
      {"pipeline.neighbour_seeds", T::kInt, "1", 0, 50, "", "",
       "recent positive items whose neighbours become candidates"},
      {"pipeline.neighbours_per_seed", T::kInt, "10", 0, 1000, "", "", "neighbours per seed"},
      {"pipeline.trending_candidates", T::kInt, "50", 0, 10000, "", "",
       "trending items offered as candidates"},
      {"pipeline.content_candidates", T::kInt, "0", 0, 10000, "", "",
       "trending items of the categories of the user's recent items offered as candidates "
       "(0: off)"},
      {"pipeline.exploration", T::kDouble, "0.1", 0, 0.5, "", "",
       "share of the k slots offered to new items"},
      {"pipeline.new_item_window_hours", T::kDouble, "72", 0, 87600, "", "",
       "an item is new for this long after it is first seen"},
      {"pipeline.exclude_categories", T::kStringList, "[]", 0, 0, "", "",
       "categories never recommended"},
      {"pipeline.max_per_category", T::kInt, "0", 0, 1000, "", "",
       "at most this many items of one (first) category per list (0: no limit)"},
      {"pipeline.ann", T::kString, R"("hnsw")", 0, 0, "", "",
       "candidate retrieval for models with vectors: `hnsw` (approximate), `flat` (exact "
       "index) or `none` (exact scan)", &CheckAnn},
      {"pipeline.ann_min_items", T::kInt, "20000", 0, kMaxCount, "", "",
       "catalogue size from which the ANN index is built and used (smaller ones are scanned "
       "exactly)"},
  };
  // clang-format on
}

// Keys of the loop: impressions, attribution, exploration (doc/loop.md); checked again as a
// whole by engine::ValidateLoopOptions.
std::vector<ConfigKeySpec> LoopKeys() {
  // clang-format off
  return {
      {"loop.attribution_window_ms", T::kInt, "1800000", 1, 2592000000, "", "",
       "outcomes are joined to an impression within this much event time after it was shown; "
       "also the longest a served list stays in the served-list cache"},
      {"loop.default_reward", T::kDouble, "0", -1e6, 1e6, "", "",
       "reward of a shown item no event answered within the window"},
      {"loop.reward_weights", T::kString, R"("")", 0, 0, "", "",
       "reward per event type, `type=weight,...` (empty: the event type table's weights)"},
      {"loop.served_cache", T::kInt, "100000", 0, 10000000, "", "",
       "served lists kept for impressions naming their recommendation_id (0: none; about "
       "0.1 KB + 60 B per item each)"},
      {"loop.policy", T::kString, R"("greedy")", 0, 0, "", "",
       "exploration policy of requests that name none (doc/loop.md, \"Exploration policies\")"},
      {"loop.experiment_salt", T::kString, R"("")", 0, 0, "", "",
       "salt of the hash that puts users in the experiment arms of loop.policy"},
      {"loop.seed", T::kInt, "0", 0, kMaxCount, "", "",
       "nonce of the recommendation ids and seed of the policies' sampling (0: drawn at start)"},
      {"loop.learn_from_impressions", T::kBool, "true", 0, 0, "", "",
       "shown-and-ignored items become weighted negatives (bpr, twotower, sasrec)"},
      {"loop.negative_weight", T::kDouble, "0.5", 0, 100, "", "",
       "weight of a shown-and-ignored item as a negative"},
      {"loop.position_bias", T::kString, R"("pbm")", 0, 0, "", "",
       "`pbm` (examination per position estimated from the logs), `cascade` or `none`"},
      {"loop.weight_cap", T::kDouble, "20", 1, 1e6, "", "",
       "importance weights of the reward ranker and the estimators are capped here"},
      {"loop.max_open_per_user", T::kInt, "100", 1, 100000, "", "",
       "open impressions kept per user; beyond it the oldest closes early (counted)"},
      {"loop.max_open_items", T::kInt, "2000000", 1, 1000000000, "", "",
       "shown items of all open impressions (about 60 B each); beyond it the oldest closes early"},
      {"loop.close_tick_ms", T::kInt, "1000", 0, 3600000, "", "",
       "idle wall time after which the learner logs a close record for lists whose window "
       "passed (0: lists close only as event time advances)"},
      {"loop.discount", T::kDouble, "1", 1e-6, 1, "", "",
       "reward ranker: a shown item at position p weighs discount^p in its learning"},
      {"loop.horizon", T::kInt, "0", 0, 1000, "", "",
       "reward ranker: learns from the first `horizon` positions of each list (0: all)"},
  };
  // clang-format on
}

Status CheckRole(const json& value) {
  const std::string role = value.get<std::string>();
  if (role != "single" && role != "trainer" && role != "replica") {
    return Status::InvalidArgument("expected one of single, trainer, replica, got '" + role + "'");
  }
  return Status::Ok();
}

Status CheckReplication(const json& value) {
  const std::string mode = value.get<std::string>();
  if (mode != "replay" && mode != "delta") {
    return Status::InvalidArgument("expected replay or delta, got '" + mode + "'");
  }
  return Status::Ok();
}

// Keys of a replicated deployment: the Redis Stream a node consumes and produces to
// (doc/stream.md).
std::vector<ConfigKeySpec> StreamKeys() {
  // clang-format off
  return {
      {"role", T::kString, R"("single")", 0, 0, "", "role",
       "single (one node), trainer or replica (both consume stream.source and append their "
       "POST /v1/events to it; doc/stream.md)", &CheckRole},
      {"stream.source", T::kString, R"("")", 0, 0, "", "source",
       "consume events from this Redis Stream, redis://[:PASSWORD@]HOST[:PORT]/STREAM, with a "
       "consumer group; acked once durable in the local log (\"\": none)"},
      {"stream.produce_to", T::kString, R"("")", 0, 0, "", "produce-to",
       "POST /v1/events appends to this Redis Stream instead of the local log (\"\": the "
       "source for a trainer or replica, else the local log)"},
      {"stream.group", T::kString, R"("")", 0, 0, "", "",
       "consumer group (\"\": flywheel; a replica needs its own, e.g. replica-1)"},
      {"stream.consumer", T::kString, R"("flywheel-1")", 0, 0, "", "",
       "consumer name in the group; keep it across restarts (its pending entries are resumed)"},
      {"stream.start_id", T::kString, R"("0")", 0, 0, "", "",
       "where a group created at start begins: 0 (the whole stream) or $ (new entries only)"},
      {"stream.batch", T::kInt, "1000", 1, 100000, "", "",
       "entries read (and logged with one fdatasync) per XREADGROUP"},
      {"stream.block_ms", T::kInt, "100", 1, 60000, "", "",
       "how long a read waits for new entries"},
      {"stream.max_unapplied", T::kInt, "100000", 0, 1e9, "", "",
       "no new entries are read while more events than this are logged but not yet learned "
       "(flow control: the backlog stays in Redis, not in memory)"},
      {"stream.max_entry_bytes", T::kInt, "1048576", 64, 1 << 30, "", "",
       "a larger entry goes to the dead-letter stream"},
      {"stream.bootstrap_from", T::kString, R"("")", 0, 0, "", "bootstrap-from",
       "a replica whose data directory is new first fetches the trainer's snapshot from this "
       "URL (http://HOST:PORT) and starts its group after it (\"\": replay the stream from "
       "stream.start_id)"},
      {"stream.bootstrap_key", T::kString, R"("")", 0, 0, "FLYWHEEL_BOOTSTRAP_KEY", "",
       "the trainer's admin key for stream.bootstrap_from", nullptr, true},
      {"stream.min_version_wait_ms", T::kInt, "2000", 0, 60000, "", "",
       "how long a read with min_version waits for this node to reach it (then 503)"},
      {"stream.replication", T::kString, R"("replay")", 0, 0, "", "replication",
       "a replica's models: replay (learn from the events like the trainer) or delta (apply "
       "the trainer's deltas for the models that have them; doc/stream.md, \"Delta mode\")",
       &CheckReplication},
      {"stream.delta_rows_ms", T::kInt, "0", 0, 3600000, "", "",
       "a trainer publishes the rows its models changed every this many ms to STREAM:deltas "
       "for delta replicas (0: no deltas)"},
      {"stream.delta_dense_ms", T::kInt, "1000", 1, 3600000, "", "",
       "a trainer's deltas carry the dense weights (e.g. the transformer) at most this often"},
      {"stream.delta_full_s", T::kInt, "60", 1, 86400, "", "",
       "a trainer publishes a full delta this often and trims the delta stream behind the "
       "previous one"},
  };
  // clang-format on
}

}  // namespace

const std::vector<ConfigKeySpec>& ServeConfigKeys() {
  static const std::vector<ConfigKeySpec> kKeys = [] {
    std::vector<ConfigKeySpec> keys = HttpKeys();
    for (auto* more : {&StoreKeys, &ModelAndPipelineKeys, &LoopKeys, &StreamKeys}) {
      std::vector<ConfigKeySpec> part = more();
      keys.insert(keys.end(), part.begin(), part.end());
    }
    return keys;
  }();
  return kKeys;
}

}  // namespace flywheel::server
