// flywheel backup: a consistent copy of a data directory, also while a server writes to it
// (engine/store/backup.h; restore and caveats: doc/operations.md).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "client/http_client.h"
#include "commands.h"
#include "engine/store/backup.h"
#include "flags.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

// POST /v1/admin/snapshot on the server that has the directory open: the copy then starts from
// a fresh snapshot and replays little. Returns the snapshot's sequence number.
Result<uint64_t> TakeSnapshot(const Flags& flags) {
  FLYWHEEL_ASSIGN_OR_RETURN(client::Url url, client::ParseUrl(flags.Get("url")));
  client::ClientOptions options;
  options.host = url.host;
  options.port = url.port;
  options.bearer_token = flags.Get("key");
  if (options.bearer_token.empty()) {
    const char* env = std::getenv("FLYWHEEL_KEY");  // NOLINT(concurrency-mt-unsafe): no threads
    options.bearer_token = env != nullptr ? env : "";
  }
  options.request_timeout_ms = 600'000;  // a snapshot of a large state takes a while
  client::HttpClient http(options);
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response res, http.Post(url.prefix + "/v1/admin/snapshot", ""));
  const json doc = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (res.status != 200 || !doc.is_object() || !doc.contains("snapshot_seq")) {
    return Status::Unavailable("backup: POST /v1/admin/snapshot answered " +
                               std::to_string(res.status) + ": " + res.body.substr(0, 200));
  }
  return doc["snapshot_seq"].get<uint64_t>();
}

Status RunBackup(const Flags& flags) {
  if (!flags.Has("data-dir") || !flags.Has("to")) {
    return Status::InvalidArgument("backup: --data-dir and --to are required");
  }
  json summary = json::object();
  if (flags.Has("url")) {
    FLYWHEEL_ASSIGN_OR_RETURN(uint64_t taken, TakeSnapshot(flags));
    summary["snapshot_taken"] = taken;
  }
  engine::BackupOptions options;
  options.data_dir = flags.Get("data-dir");
  options.to = flags.Get("to");
  FLYWHEEL_ASSIGN_OR_RETURN(engine::BackupResult result, engine::BackupDataDir(options));
  summary["to"] = options.to;
  summary["snapshot_seq"] = result.snapshot_seq;
  summary["last_seq"] = result.last_seq;
  summary["bytes"] = result.bytes;
  summary["files"] = result.files;
  summary["attempts"] = result.attempts;
  summary["recovery_messages"] = result.recovery_messages;
  std::printf("%s\n", summary.dump().c_str());
  std::fflush(stdout);
  return Status::Ok();
}

}  // namespace

int BackupMain(int argc, char** argv) {
  Flags flags(
      "backup",
      "Copies a data directory consistently, also while `flywheel serve` writes to it: the "
      "newest snapshot and the log after it (every event acknowledged before the backup "
      "started is in the copy). Checks that the copy matches the live files and recovers, then "
      "prints a JSON summary (last_seq: the backup point). Restore: start `flywheel serve "
      "--data-dir` on the copy (doc/operations.md).",
      {{"data-dir", "DIR", "the data directory to copy", ""},
       {"to", "DIR", "the target (must not exist or be empty)", ""},
       {"url", "URL", "first ask this server for a fresh snapshot (POST /v1/admin/snapshot)", ""},
       {"key", "KEY", "admin API key for --url (default: $FLYWHEEL_KEY)", ""}});
  return RunCommand(std::move(flags), argc, argv, RunBackup);
}

}  // namespace flywheel::cli
