#include "server/recovery_json.h"

namespace flywheel::server {

using nlohmann::json;

json RecoveryReportJson(const RecoveryReport& r) {
  json skipped = json::array();
  for (const RecoveryDamage& d : r.skipped) {
    skipped.push_back({{"file", d.file},
                       {"offset", d.offset},
                       {"bytes", d.bytes},
                       {"reason", d.reason},
                       {"first_lost_seq", d.first_lost_seq},
                       {"last_lost_seq", d.last_lost_seq},
                       {"lost_ids", d.lost_ids}});
  }
  json refused = json::array();
  for (const RefusedSnapshot& s : r.snapshots_refused) {
    refused.push_back({{"file", s.file}, {"reason", s.reason}});
  }
  json torn = nullptr;
  if (r.torn_tail) {
    torn = {
        {"file", r.torn_tail_file}, {"offset", r.torn_tail_offset}, {"bytes", r.torn_tail_bytes}};
  }
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
