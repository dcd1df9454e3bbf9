#include "engine/store/repair.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "flywheel/engine.h"

#include "engine/config.h"
#include "engine/store/snapshot_file.h"
#include "io/env.h"
#include "wal/durable_mark.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace flywheel::engine {
namespace {

constexpr size_t kBatch = 1000;

struct Salvage {
  std::vector<wal::LogRecord> records;  // every good record, in log order
  wal::ReadReport report;
};

Result<Salvage> SalvageLog(io::Env* env, const std::string& wal_dir) {
  wal::ReaderOptions options;
  options.tolerate_corruption = true;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(env, wal_dir, options));
  Salvage out;
  wal::LogRecord record;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(const bool more, reader->Next(&record));
    if (!more) {
      break;
    }
    out.records.push_back(record);
  }
  out.report = reader->report();
  return out;
}

// Removes the files a failed attempt left in `out_dir` (its wal/ and snapshots/ and config).
Status ClearAttempt(io::Env* env, const std::string& out_dir) {
  for (const char* sub : {"wal", "snapshots"}) {
    const std::string dir = io::JoinPath(out_dir, sub);
    Result<std::vector<std::string>> names = env->ListDir(dir);
    for (const std::string& name : names.value_or({})) {
      FLYWHEEL_RETURN_IF_ERROR(env->RemoveFile(io::JoinPath(dir, name)));
    }
  }
  return Status::Ok();
}

// Writes the new directory with snapshot `seq` (0: none) and the salvaged records after it;
// fills the log-related fields of `report`.
Status Build(io::Env* env, const std::string& config, uint64_t seq, const std::string& snapshot,
             const Salvage& salvage, RepairReport* report) {
  const std::string& out = report->out_dir;
  FLYWHEEL_RETURN_IF_ERROR(WriteFileAtomically(env, out, kConfigFileName, config));
  FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(io::JoinPath(out, "snapshots")));
  if (seq != 0) {
    FLYWHEEL_RETURN_IF_ERROR(
        WriteFileAtomically(env, io::JoinPath(out, "snapshots"), SnapshotFileName(seq), snapshot));
  }
  const std::string wal_dir = io::JoinPath(out, "wal");
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogWriter> writer,
                            wal::LogWriter::Open(env, wal_dir, wal::WriterOptions{}, seq + 1));
  uint64_t expected = seq + 1;  // the next original seq the log should have
  uint64_t next = seq + 1;      // the next seq in the new log
  std::vector<Event> batch;
  report->lost_seqs.clear();
  report->records_salvaged = 0;
  report->renumbered_from = report->renumbered_to = 0;
  for (const wal::LogRecord& r : salvage.records) {
    if (r.seq <= seq) {
      continue;
    }
    if (r.seq > expected) {
      report->lost_seqs.emplace_back(expected, r.seq - 1);
    }
    if (r.seq != next && report->renumbered_from == 0) {
      report->renumbered_from = r.seq;
      report->renumbered_to = next;
    }
    expected = std::max(expected, r.seq + 1);
    if (report->records_salvaged++ == 0) {
      report->first_seq = r.seq;
    }
    report->last_seq = r.seq;
    batch.push_back(r.event);
    if (batch.size() == kBatch) {
      FLYWHEEL_RETURN_IF_ERROR(writer->AppendBatch(next, batch));
      next += batch.size();
      batch.clear();
    }
  }
  if (!batch.empty()) {
    FLYWHEEL_RETURN_IF_ERROR(writer->AppendBatch(next, batch));
  }
  report->verified_last_seq = expected - 1;  // provisional; Repair checks by opening
  return writer->Close();
}

// Snapshots of `dir`, newest first, that decode with every checksum right (with their bytes);
// the others go to report->snapshots_refused.
Result<std::vector<std::pair<uint64_t, std::string>>> Candidates(io::Env* env,
                                                                 const std::string& snapshot_dir,
                                                                 RepairReport* report) {
  std::vector<std::pair<uint64_t, std::string>> candidates;
  FLYWHEEL_ASSIGN_OR_RETURN(const std::vector<uint64_t> seqs, ListSnapshots(env, snapshot_dir));
  for (uint64_t seq : seqs) {
    std::string bytes;
    Status st =
        io::ReadFileToString(env, io::JoinPath(snapshot_dir, SnapshotFileName(seq)), &bytes);
    if (st.ok()) {
      st = DecodeSnapshot(bytes, SnapshotFileName(seq)).status();
    }
    if (!st.ok()) {
      report->snapshots_refused.push_back({SnapshotFileName(seq), st.ToString()});
      continue;
    }
    candidates.emplace_back(seq, std::move(bytes));
  }
  return candidates;
}

}  // namespace

Result<RepairReport> Repair(io::Env* env, const std::string& data_dir, const std::string& out_dir) {
  const std::string config_path = io::JoinPath(data_dir, kConfigFileName);
  if (!env->FileExists(config_path)) {
    return Status::NotFound("repair: " + data_dir + " is not a Flywheel data directory");
  }
  if (env->FileExists(out_dir) && !env->ListDir(out_dir).value_or({}).empty()) {
    return Status::FailedPrecondition("repair: --out " + out_dir +
                                      " is not empty (the repaired copy needs a new directory)");
  }
  RepairReport report;
  report.data_dir = data_dir;
  report.out_dir = out_dir;
  std::string config;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env, config_path, &config));
  FLYWHEEL_ASSIGN_OR_RETURN(const Salvage salvage, SalvageLog(env, io::JoinPath(data_dir, "wal")));
  for (const wal::Damage& d : salvage.report.damage) {
    report.damage.push_back(
        {d.file, d.offset, d.bytes, d.reason, d.first_lost_seq, d.last_lost_seq, d.lost_ids});
  }
  if (salvage.report.tail_truncated) {
    report.torn_tail_file = salvage.report.tail_file;
    report.torn_tail_offset = salvage.report.tail_valid_bytes;
    report.torn_tail_bytes = salvage.report.tail_dropped_bytes;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(auto candidates,
                            Candidates(env, io::JoinPath(data_dir, "snapshots"), &report));
  candidates.emplace_back(0, "");
  FLYWHEEL_RETURN_IF_ERROR(env->CreateDir(out_dir));
  Status last_error;
  bool verified = false;
  for (const auto& [seq, bytes] : candidates) {
    FLYWHEEL_RETURN_IF_ERROR(ClearAttempt(env, out_dir));
    FLYWHEEL_RETURN_IF_ERROR(Build(env, config, seq, bytes, salvage, &report));
    EngineOptions options;
    options.data_dir = out_dir;
    options.read_only = true;
    options.env = env;
    Result<std::unique_ptr<Engine>> opened = Engine::Open(options);
    if (!opened.ok()) {
      last_error = opened.status();
      if (seq != 0) {
        report.snapshots_refused.push_back(
            {SnapshotFileName(seq), "does not load: " + opened.status().ToString()});
      }
      continue;
    }
    report.snapshot_seq = seq;
    report.verified_last_seq = (*opened)->stats().last_seq;
    verified = true;
    break;
  }
  if (!verified) {
    return Status(last_error.code(),
                  "repair: the repaired copy does not open: " + last_error.message());
  }
  // Events the old log's durable mark says were durable beyond what was salvaged.
  Result<std::optional<wal::DurableMark>> mark =
      wal::ReadDurableMark(env, io::JoinPath(data_dir, "wal"));
  const uint64_t end = std::max(report.last_seq, report.snapshot_seq);
  if (mark.ok() && mark->has_value() && (*mark)->last_seq > end) {
    report.lost_seqs.emplace_back(end + 1, (*mark)->last_seq);
  }
  for (const auto& [first, last] : report.lost_seqs) {
    report.lost_events += last - first + 1;
  }
  return report;
}

}  // namespace flywheel::engine
