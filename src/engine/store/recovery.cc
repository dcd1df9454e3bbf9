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

// The newest snapshot that loads (0: none, empty state).
Result<uint64_t> LoadNewestSnapshot(const Snapshots& snapshots, LearnedState* state,
                                    Ingestor* ingestor, MessageLog* messages) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, snapshots.List());
  for (uint64_t seq : seqs) {
    Status st = LoadSnapshot(seq, snapshots, state, ingestor);
    if (st.ok()) {
      return seq;
    }
    messages->Add("engine: skipped snapshot " + SnapshotFileName(seq) + ": " + st.ToString());
    // Start the next attempt from a clean state.
    ingestor->ClearDedup();
    base::WriterLock lock(&state->mu);
    FLYWHEEL_RETURN_IF_ERROR(state->Reset());
  }
  return uint64_t{0};
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

}  // namespace

Result<RecoveryReport> Recover(io::Env* env, const RecoveryOptions& options, LearnedState* state,
                               Ingestor* ingestor, Learner* learner, Snapshots* snapshots,
                               MessageLog* messages) {
  const auto start = std::chrono::steady_clock::now();
  RecoveryReport out;
  FLYWHEEL_ASSIGN_OR_RETURN(out.snapshot_seq,
                            LoadNewestSnapshot(*snapshots, state, ingestor, messages));
  snapshots->set_seq(out.snapshot_seq);
  FLYWHEEL_ASSIGN_OR_RETURN(auto replay,
                            ReplayLog(env, options, out.snapshot_seq, ingestor, learner));
  const wal::ReadReport& report = replay.first;
  out.replayed_events = replay.second;
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
  uint64_t forgets = 0;
  {
    base::ReaderLock lock(&state->mu);
    forgets = state->forgets_applied;
  }
  if (forgets > 0) {
    // A user deletion was logged but the purge that follows it may not have finished: finish
    // it now so that the forgotten events leave the disk (the writer opened a new segment).
    FLYWHEEL_RETURN_IF_ERROR(snapshots->Write(/*keep=*/1).status());
    messages->Add("engine: replayed " + std::to_string(forgets) +
                  " user deletion(s); wrote a snapshot and erased older ones");
  }
  out.seconds = seconds();
  return out;
}

}  // namespace flywheel::engine
