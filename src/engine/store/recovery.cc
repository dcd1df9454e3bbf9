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

Status LoadSnapshot(uint64_t seq, const Snapshots& snapshots, LearnedState* state,
                    Ingestor* ingestor) {
  const std::string name = SnapshotFileName(seq);
  std::string bytes;
  FLYWHEEL_ASSIGN_OR_RETURN(const SnapshotView view, snapshots.Read(seq, &bytes));
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

// The newest snapshot that loads (0: none, empty state); the ones refused go to `refused`.
Result<uint64_t> LoadNewestSnapshot(const Snapshots& snapshots, LearnedState* state,
                                    Ingestor* ingestor, MessageLog* messages,
                                    std::vector<RefusedSnapshot>* refused) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, snapshots.List());
  for (uint64_t seq : seqs) {
    Status st = LoadSnapshot(seq, snapshots, state, ingestor);
    if (st.ok()) {
      return seq;
    }
    messages->Add("engine: skipped snapshot " + SnapshotFileName(seq) + ": " + st.ToString());
    refused->push_back({SnapshotFileName(seq), st.ToString()});
    // Start the next attempt from a clean state.
    ingestor->ClearDedup();
    base::WriterLock lock(&state->mu);
    FLYWHEEL_RETURN_IF_ERROR(state->Reset());
  }
  return uint64_t{0};
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

// A user deletion was logged but the purge that follows it may not have finished: finish it
// now so that the forgotten events leave the disk (the writer opened a new segment).
Status FinishForget(LearnedState* state, Snapshots* snapshots, MessageLog* messages) {
  uint64_t forgets = 0;
  {
    base::ReaderLock lock(&state->mu);
    forgets = state->forgets_applied;
  }
  if (forgets > 0) {
    FLYWHEEL_RETURN_IF_ERROR(snapshots->Write(/*keep=*/1).status());
    messages->Add("engine: replayed " + std::to_string(forgets) +
                  " user deletion(s); wrote a snapshot and erased older ones");
  }
  return Status::Ok();
}

}  // namespace

Result<RecoveryReport> Recover(io::Env* env, const RecoveryOptions& options, LearnedState* state,
                               Ingestor* ingestor, Learner* learner, Snapshots* snapshots,
                               MessageLog* messages) {
  const auto start = std::chrono::steady_clock::now();
  RecoveryReport out;
  FLYWHEEL_ASSIGN_OR_RETURN(out.snapshot_seq, LoadNewestSnapshot(*snapshots, state, ingestor,
                                                                 messages, &out.snapshots_refused));
  if (out.snapshot_seq != 0) {
    out.snapshot_file = SnapshotFileName(out.snapshot_seq);
  }
  snapshots->set_seq(out.snapshot_seq);
  FLYWHEEL_ASSIGN_OR_RETURN(const wal::ReadReport report,
                            ReplayLog(env, options, out.snapshot_seq, ingestor, learner, &out));
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
    FLYWHEEL_RETURN_IF_ERROR(FinishForget(state, snapshots, messages));
  }
  out.messages = messages->All();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace flywheel::engine
