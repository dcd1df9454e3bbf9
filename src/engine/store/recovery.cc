#include "engine/store/recovery.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "base/serial.h"
#include "io/env.h"
#include "wal/durable_mark.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace flywheel::engine {
namespace {

Status LoadSnapshot(const std::string& name, uint64_t seq, const Snapshots& snapshots,
                    LearnedState* state, Ingestor* ingestor) {
  std::string bytes;
  FLYWHEEL_ASSIGN_OR_RETURN(const SnapshotView view, snapshots.Read(name, seq, &bytes));
  {
    base::WriterLock lock(&state->mu);  // uncontended: no other thread runs yet
    FLYWHEEL_RETURN_IF_ERROR(state->Load(view, name));
  }
  const auto dedup = view.Find("dedup");
  if (!dedup) {
    return Status::Corruption("snapshot " + name + ": missing section 'dedup'");
  }
  base::ByteReader r(*dedup, "snapshot " + name + " section dedup");
  FLYWHEEL_RETURN_IF_ERROR(ingestor->LoadDedup(&r));
  return r.ExpectEnd();
}

// Loads the newest snapshot file that loads, trying each sequence number's snapshot and then its
// purge copy; fills snapshot_seq (0: none, empty state), snapshot_file and snapshots_refused.
Status LoadNewestSnapshot(const Snapshots& snapshots, LearnedState* state, Ingestor* ingestor,
                          MessageLog* messages, RecoveryReport* out) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, snapshots.List());
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> copies, snapshots.List(/*copies=*/true));
  seqs.insert(seqs.end(), copies.begin(), copies.end());
  std::sort(seqs.rbegin(), seqs.rend());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  for (uint64_t seq : seqs) {
    for (const std::string& name : {SnapshotFileName(seq), SnapshotCopyFileName(seq)}) {
      if (!snapshots.Exists(name)) {
        continue;
      }
      Status st = LoadSnapshot(name, seq, snapshots, state, ingestor);
      if (st.ok()) {
        out->snapshot_seq = seq;
        out->snapshot_file = name;
        return st;
      }
      out->snapshots_refused.push_back({name, st.ToString()});
      messages->Add("engine: skipped snapshot file " + name + ": " + st.ToString());
      // Start the next attempt from a clean state.
      ingestor->ClearDedup();
      base::WriterLock lock(&state->mu);
      FLYWHEEL_RETURN_IF_ERROR(state->Reset());
    }
  }
  return Status::Ok();
}

// After the writer is open: finishes a user deletion that was replayed (its purge may not have
// run) or a purge that a crash cut short, and rewrites a purge snapshot loaded from its copy.
Status FinishPurges(const RecoveryReport& out, LearnedState* state, Snapshots* snapshots,
                    MessageLog* messages) {
  uint64_t forgets = 0;
  {
    base::ReaderLock lock(&state->mu);
    forgets = state->forgets_applied;
  }
  if (forgets > 0) {
    // The writer opened a new segment, so the purge can remove every one before it.
    FLYWHEEL_RETURN_IF_ERROR(snapshots->WritePurge().status());
    messages->Add("engine: replayed " + std::to_string(forgets) +
                  " user deletion(s); wrote a snapshot and its copy and erased older ones");
    return Status::Ok();
  }
  if (out.snapshot_seq == 0 || !snapshots->Exists(SnapshotCopyFileName(out.snapshot_seq))) {
    return Status::Ok();
  }
  if (out.snapshot_file == SnapshotCopyFileName(out.snapshot_seq)) {
    FLYWHEEL_RETURN_IF_ERROR(snapshots->WritePurge().status());
    messages->Add("engine: loaded the copy of purge snapshot " + std::to_string(out.snapshot_seq) +
                  "; wrote the snapshot and its copy again");
    return Status::Ok();
  }
  return snapshots->FinishPurge(out.snapshot_seq);
}

constexpr char kRefusalHint[] =
    " (restart with skip_corruption (--skip-corruption) to skip the damage and lose its events, "
    "or recover what is left into a new directory with 'flywheel repair')";

// Replays the log after `from_seq` into `out` (replayed counts and seqs); returns the reader's
// report.
Result<wal::ReadReport> ReplayLog(io::Env* env, const RecoveryOptions& options, uint64_t from_seq,
                                  Ingestor* ingestor, Learner* learner, RecoveryReport* out) {
  wal::ReaderOptions reader_options;
  reader_options.start_seq = from_seq + 1;
  reader_options.tolerate_corruption = options.skip_corruption;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(env, options.wal_dir, reader_options));
  wal::LogRecord record;
  while (true) {
    Result<bool> more = reader->Next(&record);
    if (!more.ok()) {
      return Status(more.status().code(), more.status().message() + kRefusalHint);
    }
    if (!*more) {
      break;
    }
    if (!record.event.id.empty()) {
      ingestor->Remember(record.event.id, record.seq);
    }
    learner->Replay(record.event, record.seq);
    if (out->replayed_events++ == 0) {
      out->first_replayed_seq = record.seq;
    }
    out->last_replayed_seq = record.seq;
  }
  return reader->report();
}

uint64_t LostCount(const RecoveryDamage& d) {
  return d.first_lost_seq != 0 && d.last_lost_seq >= d.first_lost_seq
             ? d.last_lost_seq - d.first_lost_seq + 1
             : 0;
}

// Copies what the log reader saw into the recovery report.
void AddReadReport(const wal::ReadReport& report, RecoveryReport* out) {
  out->segments = report.segments;
  out->torn_tail = report.tail_truncated;
  if (report.tail_truncated) {
    out->torn_tail_file = report.tail_file;
    out->torn_tail_offset = report.tail_valid_bytes;
    out->torn_tail_bytes = report.tail_dropped_bytes;
  }
  for (const wal::Damage& d : report.damage) {
    out->skipped.push_back(
        {d.file, d.offset, d.bytes, d.reason, d.first_lost_seq, d.last_lost_seq, d.lost_ids});
    out->skipped_bytes += d.bytes;
    out->lost_events += LostCount(out->skipped.back());
  }
  out->messages.insert(out->messages.end(), report.messages.begin(), report.messages.end());
}

// The log must still reach the last seq its durable mark (wal/DURABLE, written at the last
// clean close) recorded: otherwise the last segment was cut or removed after it was
// acknowledged. kCorruption, or with skip_corruption a skipped span in the report and
// `*shortfall` set. A damaged mark is ignored (noted in the report).
Status CheckDurableMark(io::Env* env, const RecoveryOptions& options, uint64_t log_end,
                        RecoveryReport* out, bool* shortfall) {
  Result<std::optional<wal::DurableMark>> mark = wal::ReadDurableMark(env, options.wal_dir);
  if (!mark.ok()) {
    if (mark.status().code() != StatusCode::kCorruption) {
      return mark.status();
    }
    out->messages.push_back(mark.status().message());
    return Status::Ok();
  }
  if (!mark->has_value() || (*mark)->last_seq <= log_end) {
    return Status::Ok();
  }
  const wal::DurableMark& m = **mark;
  const std::string segment = io::JoinPath(options.wal_dir, wal::SegmentFileName(m.segment));
  const uint64_t now = env->FileExists(segment) ? env->FileSize(segment).value_or(0) : 0;
  const std::string what =
      "the log ends at seq " + std::to_string(log_end) + " but seq " + std::to_string(m.last_seq) +
      " was durable at the last clean shutdown (" + segment + " had " + std::to_string(m.bytes) +
      " bytes, now " + std::to_string(now) + "): events " + std::to_string(log_end + 1) + " to " +
      std::to_string(m.last_seq) + " are lost";
  if (!options.skip_corruption) {
    return Status::Corruption("wal: " + what + kRefusalHint);
  }
  out->skipped.push_back({segment,
                          std::min(now, m.bytes),
                          m.bytes > now ? m.bytes - now : 0,
                          "log shorter than its durable mark",
                          log_end + 1,
                          m.last_seq,
                          {}});
  out->skipped_bytes += out->skipped.back().bytes;
  out->lost_events += LostCount(out->skipped.back());
  out->messages.push_back("wal: skipped: " + what);
  *shortfall = true;
  return Status::Ok();
}

// Cuts the torn tail and opens the log writer after the last record (none when read_only).
Status OpenWriter(io::Env* env, const RecoveryOptions& options, const wal::ReadReport& report,
                  uint64_t next_seq, bool shortfall, Ingestor* ingestor) {
  if (options.read_only) {
    ingestor->Attach(nullptr, next_seq);
    return Status::Ok();
  }
  if (report.tail_truncated || report.tail_header_torn) {
    FLYWHEEL_RETURN_IF_ERROR(wal::TruncateTail(env, options.wal_dir, report));
  }
  if (shortfall) {  // the loss was accepted: the mark no longer describes this log
    FLYWHEEL_RETURN_IF_ERROR(wal::RemoveDurableMark(env, options.wal_dir));
  }
  wal::WriterOptions writer_options;
  FLYWHEEL_ASSIGN_OR_RETURN(writer_options.durability, wal::Durability::Parse(options.durability));
  writer_options.segment_bytes = options.segment_bytes;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogWriter> writer,
                            wal::LogWriter::Open(env, options.wal_dir, writer_options, next_seq));
  ingestor->Attach(std::move(writer), next_seq);
  return Status::Ok();
}

// Removes leftover snapshot temp files (they may hold a forgotten user's data).
Status RemoveTempFiles(Snapshots* snapshots, MessageLog* messages, RecoveryReport* out) {
  FLYWHEEL_ASSIGN_OR_RETURN(out->temp_files_removed, snapshots->RemoveTempFiles());
  for (const std::string& name : out->temp_files_removed) {
    messages->Add("engine: removed leftover " + name + " (a snapshot write cut short)");
  }
  return Status::Ok();
}

}  // namespace

void FillRecoveryStats(const RecoveryReport& report, std::vector<std::string> messages,
                       EngineStats* stats) {
  stats->recovered_snapshot_seq = report.snapshot_seq;
  stats->replayed_events = report.replayed_events;
  stats->recovery_seconds = report.seconds;
  stats->recovery_messages = std::move(messages);
  stats->recovery = report;
}

Result<RecoveryReport> Recover(io::Env* env, const RecoveryOptions& options, LearnedState* state,
                               Ingestor* ingestor, Learner* learner, Snapshots* snapshots,
                               MessageLog* messages) {
  const auto start = std::chrono::steady_clock::now();
  RecoveryReport out;
  if (!options.read_only) {
    FLYWHEEL_RETURN_IF_ERROR(RemoveTempFiles(snapshots, messages, &out));
  }
  FLYWHEEL_RETURN_IF_ERROR(LoadNewestSnapshot(*snapshots, state, ingestor, messages, &out));
  snapshots->set_seq(out.snapshot_seq);
  Result<wal::ReadReport> replay =
      ReplayLog(env, options, out.snapshot_seq, ingestor, learner, &out);
  if (!replay.ok() && !out.snapshots_refused.empty()) {
    const RefusedSnapshot& newest = out.snapshots_refused.front();
    return Status(replay.status().code(),
                  "engine: snapshot file " + newest.file + ": " + newest.reason +
                      "; the fallback to snapshot " + std::to_string(out.snapshot_seq) +
                      " needs the log from seq " + std::to_string(out.snapshot_seq + 1) + ": " +
                      replay.status().message());
  }
  FLYWHEEL_RETURN_IF_ERROR(replay.status());
  const wal::ReadReport& report = *replay;
  AddReadReport(report, &out);
  const uint64_t applied = out.replayed_events > 0 ? learner->applied_seq() : out.snapshot_seq;
  learner->FinishRecovery(applied);
  for (const std::string& m : report.messages) {
    messages->Add(m);
  }
  const uint64_t next_seq = std::max(report.next_seq, applied + 1);
  // The same checks with and without read_only (inspect exits non-zero where serve refuses).
  if (report.next_seq < next_seq && report.last_seq != 0) {
    return Status::Corruption("engine: snapshot " + std::to_string(out.snapshot_seq) +
                              " is ahead of the log (last seq " + std::to_string(report.last_seq) +
                              ")");
  }
  bool shortfall = false;
  FLYWHEEL_RETURN_IF_ERROR(CheckDurableMark(
      env, options, std::max(report.last_seq, out.snapshot_seq), &out, &shortfall));
  for (size_t i = report.messages.size(); i < out.messages.size(); ++i) {
    messages->Add(out.messages[i]);
  }
  FLYWHEEL_RETURN_IF_ERROR(OpenWriter(env, options, report, next_seq, shortfall, ingestor));
  if (!options.read_only) {
    FLYWHEEL_RETURN_IF_ERROR(FinishPurges(out, state, snapshots, messages));
  }
  out.messages = messages->All();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace flywheel::engine
