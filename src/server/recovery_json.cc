#include "server/recovery_json.h"

namespace flywheel::server {

using nlohmann::json;

json RecoveryDamageJson(const std::vector<RecoveryDamage>& damage) {
  json out = json::array();
  for (const RecoveryDamage& d : damage) {
    out.push_back({{"file", d.file},
                   {"offset", d.offset},
                   {"bytes", d.bytes},
                   {"reason", d.reason},
                   {"first_lost_seq", d.first_lost_seq},
                   {"last_lost_seq", d.last_lost_seq},
                   {"lost_ids", d.lost_ids}});
  }
  return out;
}

json RefusedSnapshotsJson(const std::vector<RefusedSnapshot>& refused) {
  json out = json::array();
  for (const RefusedSnapshot& s : refused) {
    out.push_back({{"file", s.file}, {"reason", s.reason}});
  }
  return out;
}

json TornTailJson(const std::string& file, uint64_t offset, uint64_t bytes) {
  if (file.empty()) {
    return nullptr;
  }
  return {{"file", file}, {"offset", offset}, {"bytes", bytes}};
}

json RecoveryReportJson(const RecoveryReport& r) {
  const json skipped = RecoveryDamageJson(r.skipped);
  const json refused = RefusedSnapshotsJson(r.snapshots_refused);
  const json torn = r.torn_tail
                        ? TornTailJson(r.torn_tail_file, r.torn_tail_offset, r.torn_tail_bytes)
                        : json(nullptr);
  return {{"snapshot_seq", r.snapshot_seq},
          {"snapshot_file", r.snapshot_file},
          {"replayed_events", r.replayed_events},
          {"first_replayed_seq", r.first_replayed_seq},
          {"last_replayed_seq", r.last_replayed_seq},
          {"segments", r.segments},
          {"seconds", r.seconds},
          {"torn_tail", torn},
          {"skipped", skipped},
          {"skipped_bytes", r.skipped_bytes},
          {"lost_events", r.lost_events},
          {"snapshots_refused", refused},
          {"messages", r.messages}};
}

}  // namespace flywheel::server
