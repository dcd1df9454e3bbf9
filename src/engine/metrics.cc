#include "engine/metrics.h"

#include "engine/loop/impression_metrics.h"

namespace flywheel::engine {

std::string MetricsText(const EngineStats& s, const base::AtomicHistogram& freshness,
                        const base::AtomicHistogram& ingest_latency) {
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
  const RecoveryReport& r = s.recovery;
  gauge("flywheel_recovery_replayed_events", "Log records replayed at start.", r.replayed_events);
  gauge("flywheel_recovery_snapshot_seq", "Snapshot loaded at start (0: none).", r.snapshot_seq);
  gauge("flywheel_recovery_torn_tail_bytes", "Bytes of a torn log tail cut at start.",
        r.torn_tail_bytes);
  gauge("flywheel_recovery_skipped_bytes", "Damaged log bytes skipped at start (skip_corruption).",
        r.skipped_bytes);
  gauge("flywheel_recovery_lost_events", "Events known lost to skipped damage at start.",
        r.lost_events);
  gauge("flywheel_recovery_snapshots_refused", "Snapshots that failed to load at start.",
        r.snapshots_refused.size());
  gauge("flywheel_writes_available",
        "1 while writes can be logged; 0 on a full disk, after a fatal log error, read-only.",
        s.write_state == "ready" ? 1 : 0);
  gauge("flywheel_writes_retry_after_seconds",
        "On a full disk: seconds until writes are tried "
        "again (0 otherwise).",
        static_cast<uint64_t>(s.write_retry_after_s));
  out +=
      "# HELP flywheel_freshness_seconds Acknowledgement to applied by the learner.\n"
      "# TYPE flywheel_freshness_seconds histogram\n";
  out += freshness.Prometheus("flywheel_freshness_seconds", "");
  out +=
      "# HELP flywheel_ingest_ack_seconds Ingest call to acknowledgement.\n"
      "# TYPE flywheel_ingest_ack_seconds histogram\n";
  out += ingest_latency.Prometheus("flywheel_ingest_ack_seconds", "");
  out += ImpressionMetricsText(s.impressions);
  return out;
}

}  // namespace flywheel::engine
