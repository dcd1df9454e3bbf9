#include "engine/store/snapshots.h"

#include <algorithm>
#include <utility>

#include "io/env.h"

namespace flywheel::engine {

Snapshots::Snapshots(io::Env* env, std::string dir, size_t keep, LearnedState* state,
                     Ingestor* ingestor, const Learner* learner)
    : env_(env),
      dir_(std::move(dir)),
      keep_(keep),
      state_(state),
      ingestor_(ingestor),
      learner_(learner) {}

Result<uint64_t> Snapshots::Serialize(std::vector<SnapshotSection>* sections) const {
  base::ReaderLock lock(&state_->mu);
  const uint64_t seq = learner_->applied_seq();
  FLYWHEEL_RETURN_IF_ERROR(state_->Save(seq, sections));
  // The dedup window sits after the user states (the section order of doc/formats/snapshot.md).
  auto at = std::find_if(sections->begin(), sections->end(),
                         [](const SnapshotSection& s) { return s.name == "catalog"; });
  at = sections->insert(at, SnapshotSection{"dedup", {}});
  ingestor_->SaveDedup(seq, &at->payload);
  return seq;
}

Result<uint64_t> Snapshots::Write(size_t keep) {
  base::MutexLock lock(&write_mu_);
  std::vector<SnapshotSection> sections;
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, Serialize(&sections));
  // The log must be durable through `seq` before a snapshot claims it (interval mode).
  FLYWHEEL_RETURN_IF_ERROR(ingestor_->Sync());
  const std::string bytes = EncodeSnapshot(seq, sections);
  FLYWHEEL_RETURN_IF_ERROR(WriteFileAtomically(env_, dir_, SnapshotFileName(seq), bytes));
  seq_.store(seq, std::memory_order_release);
  written_.fetch_add(1, std::memory_order_relaxed);
  FLYWHEEL_RETURN_IF_ERROR(ApplyRetention(keep > 0 ? keep : keep_));
  return seq;
}

Result<std::vector<uint64_t>> Snapshots::List() const {
  return ListSnapshots(env_, dir_);
}

Result<SnapshotView> Snapshots::Read(uint64_t seq, std::string* bytes) const {
  const std::string name = SnapshotFileName(seq);
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, io::JoinPath(dir_, name), bytes));
  FLYWHEEL_ASSIGN_OR_RETURN(SnapshotView view, DecodeSnapshot(*bytes, name));
  if (view.seq != seq) {
    return Status::Corruption("snapshot " + name + " holds sequence number " +
                              std::to_string(view.seq));
  }
  return view;
}

Status Snapshots::ApplyRetention(size_t keep) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, List());
  for (size_t i = keep; i < seqs.size(); ++i) {
    FLYWHEEL_RETURN_IF_ERROR(env_->RemoveFile(io::JoinPath(dir_, SnapshotFileName(seqs[i]))));
  }
  if (seqs.size() > keep) {
    FLYWHEEL_RETURN_IF_ERROR(env_->SyncDir(dir_));
  }
  if (!seqs.empty()) {
    // Keep the log from the oldest kept snapshot on, so recovery can fall back to it.
    const uint64_t oldest = seqs[std::min(keep, seqs.size()) - 1];
    FLYWHEEL_RETURN_IF_ERROR(ingestor_->RemoveSegmentsBefore(oldest + 1));
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
