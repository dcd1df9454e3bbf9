// flywheel repair: recovers what can be recovered from a damaged data directory into a new one
// and says exactly what was lost (engine/store/repair.h; doc/operations.md).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "engine/store/repair.h"
#include "flags.h"
#include "io/env.h"
#include "server/recovery_json.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

json ReportJson(const engine::RepairReport& r) {
  json lost = json::array();
  for (const auto& [first, last] : r.lost_seqs) {
    lost.push_back({{"first_seq", first}, {"last_seq", last}});
  }
  const json damage = server::RecoveryDamageJson(r.damage);
  const json refused = server::RefusedSnapshotsJson(r.snapshots_refused);
  const json torn = server::TornTailJson(r.torn_tail_file, r.torn_tail_offset, r.torn_tail_bytes);
  return {{"data_dir", r.data_dir},
          {"out", r.out_dir},
          {"snapshot_seq", r.snapshot_seq},
          {"snapshots_refused", refused},
          {"records_salvaged", r.records_salvaged},
          {"first_seq", r.first_seq},
          {"last_seq", r.last_seq},
          {"lost_events", r.lost_events},
          {"lost_seqs", lost},
          {"damage", damage},
          {"torn_tail", torn},
          {"renumbered", r.renumbered_from == 0
                             ? json(nullptr)
                             : json{{"from_seq", r.renumbered_from}, {"to_seq", r.renumbered_to}}},
          {"verified_last_seq", r.verified_last_seq}};
}

void PrintSummary(const engine::RepairReport& r) {
  std::printf("repair: %s -> %s\n", r.data_dir.c_str(), r.out_dir.c_str());
  std::printf("  snapshot used: %s\n",
              r.snapshot_seq == 0 ? "none" : std::to_string(r.snapshot_seq).c_str());
  for (const RefusedSnapshot& s : r.snapshots_refused) {
    std::printf("  snapshot refused: %s: %s\n", s.file.c_str(), s.reason.c_str());
  }
  std::printf("  log records salvaged: %llu (seq %llu..%llu)\n",
              static_cast<unsigned long long>(r.records_salvaged),
              static_cast<unsigned long long>(r.first_seq),
              static_cast<unsigned long long>(r.last_seq));
  for (const RecoveryDamage& d : r.damage) {
    const uint64_t end = d.offset + d.bytes;
    std::printf("  damaged: %s bytes %llu..%llu (%llu bytes): %s\n", d.file.c_str(),
                static_cast<unsigned long long>(d.offset), static_cast<unsigned long long>(end),
                static_cast<unsigned long long>(d.bytes), d.reason.c_str());
    for (const std::string& id : d.lost_ids) {
      std::printf("    lost event id: %s\n", id.c_str());
    }
  }
  if (!r.torn_tail_file.empty()) {
    std::printf("  torn tail: %s cut at %llu (%llu bytes of an unfinished write)\n",
                r.torn_tail_file.c_str(), static_cast<unsigned long long>(r.torn_tail_offset),
                static_cast<unsigned long long>(r.torn_tail_bytes));
  }
  for (const auto& [first, last] : r.lost_seqs) {
    std::printf("  lost events: seq %llu..%llu\n", static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(last));
  }
  if (r.renumbered_from != 0) {
    std::printf("  renumbered: original seq %llu onwards now starts at seq %llu\n",
                static_cast<unsigned long long>(r.renumbered_from),
                static_cast<unsigned long long>(r.renumbered_to));
  }
  std::printf("  lost: %llu events; the new directory opens with last_seq %llu\n",
              static_cast<unsigned long long>(r.lost_events),
              static_cast<unsigned long long>(r.verified_last_seq));
}

Status RunRepair(const Flags& flags) {
  if (!flags.Has("data-dir") || !flags.Has("out")) {
    return Status::InvalidArgument("repair: --data-dir and --out are required");
  }
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("repair: unexpected argument '" + flags.positional()[0] + "'");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(
      const engine::RepairReport report,
      engine::Repair(io::Env::Default(), flags.Get("data-dir"), flags.Get("out")));
  PrintSummary(report);
  if (flags.Has("json")) {
    std::ofstream out(flags.Get("json"), std::ios::trunc);
    out << ReportJson(report).dump(2) << "\n";
    if (!out.good()) {
      return Status::IoError("repair: cannot write --json " + flags.Get("json"));
    }
  }
  return Status::Ok();
}

}  // namespace

int RepairMain(int argc, char** argv) {
  Flags flags("repair",
              "Recovers everything recoverable from a damaged data directory into a NEW "
              "directory (the damaged one is only read): the newest snapshot that verifies and "
              "every intact log record after it. Prints what was lost (byte ranges, sequence "
              "numbers, event ids where known); --json writes the same as JSON. Run it while no "
              "server uses the directory (doc/operations.md).",
              {{"data-dir", "DIR", "the damaged data directory (read only)", ""},
               {"out", "NEW", "the directory to create (must not exist or be empty)", ""},
               {"json", "FILE", "also write the report as JSON to FILE", ""}});
  return RunCommand(std::move(flags), argc, argv, RunRepair);
}

}  // namespace flywheel::cli
