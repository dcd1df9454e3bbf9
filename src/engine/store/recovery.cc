#include "engine/store/recovery.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "base/serial.h"
#include "io/env.h"
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
      out->snapshots_refused.push_back(name + ": " + st.ToString());
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

// Replays the log after `from_seq`; returns the reader's report and the records replayed.
Result<std::pair<wal::ReadReport, uint64_t>> ReplayLog(io::Env* env, const RecoveryOptions& options,
                                                       uint64_t from_seq, Ingestor* ingestor,
                                                       Learner* learner) {
  wal::ReaderOptions reader_options;
  reader_options.start_seq = from_seq + 1;
  reader_options.tolerate_corruption = options.skip_corruption;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(env, options.wal_dir, reader_options));
  uint64_t replayed = 0;
  wal::LogRecord record;
  while (true) {
    Result<bool> more = reader->Next(&record);
    if (!more.ok()) {
      return Status(more.status().code(),
                    more.status().message() +
                        " (the log is damaged before its tail; restart with skip_corruption "
                        "(--skip-corruption) to skip damaged spans and lose their events)");
    }
    if (!*more) {
      break;
    }
    if (!record.event.id.empty()) {
      ingestor->Remember(record.event.id, record.seq);
    }
    learner->Replay(record.event, record.seq);
    ++replayed;
  }
  return std::make_pair(reader->report(), replayed);
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
  auto replay = ReplayLog(env, options, out.snapshot_seq, ingestor, learner);
  if (!replay.ok() && !out.snapshots_refused.empty()) {
    return Status(replay.status().code(),
                  "engine: snapshot file " + out.snapshots_refused.front() +
                      "; the fallback to snapshot " + std::to_string(out.snapshot_seq) +
                      " needs the log from seq " + std::to_string(out.snapshot_seq + 1) + ": " +
                      replay.status().message());
  }
  FLYWHEEL_RETURN_IF_ERROR(replay.status());
  const wal::ReadReport& report = replay->first;
  out.replayed_events = replay->second;
  const uint64_t applied = out.replayed_events > 0 ? learner->applied_seq() : out.snapshot_seq;
  learner->FinishRecovery(applied);
  for (const std::string& m : report.messages) {
    messages->Add(m);
  }
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const uint64_t next_seq = std::max(report.next_seq, applied + 1);
  if (options.read_only) {
    ingestor->Attach(nullptr, next_seq);
    out.seconds = seconds();
    return out;
  }
  if (report.tail_truncated || report.tail_header_torn) {
    FLYWHEEL_RETURN_IF_ERROR(wal::TruncateTail(env, options.wal_dir, report));
  }
  if (report.next_seq < next_seq && report.last_seq != 0) {
    return Status::Corruption("engine: snapshot " + std::to_string(out.snapshot_seq) +
                              " is ahead of the log (last seq " + std::to_string(report.last_seq) +
                              ")");
  }
  wal::WriterOptions writer_options;
  FLYWHEEL_ASSIGN_OR_RETURN(writer_options.durability, wal::Durability::Parse(options.durability));
  writer_options.segment_bytes = options.segment_bytes;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogWriter> writer,
                            wal::LogWriter::Open(env, options.wal_dir, writer_options, next_seq));
  ingestor->Attach(std::move(writer), next_seq);
  FLYWHEEL_RETURN_IF_ERROR(FinishPurges(out, state, snapshots, messages));
  out.seconds = seconds();
  return out;
}

}  // namespace flywheel::engine
