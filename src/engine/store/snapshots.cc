#include "engine/store/snapshots.h"

#include <algorithm>
#include <iterator>
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

Result<uint64_t> Snapshots::WriteLocked(bool copy) {
  std::vector<SnapshotSection> sections;
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, Serialize(&sections));
  // The log must be durable through `seq` before a snapshot claims it (interval mode).
  FLYWHEEL_RETURN_IF_ERROR(ingestor_->Sync());
  const std::string bytes = EncodeSnapshot(seq, sections);
  sections.clear();
  std::vector<std::string> names;
  if (copy) {
    names.push_back(SnapshotCopyFileName(seq));  // first: a crash before the snapshot is seen
  }
  names.push_back(SnapshotFileName(seq));
  for (const std::string& name : names) {
    FLYWHEEL_RETURN_IF_ERROR(
        WriteFileAtomically(env_, dir_, name, bytes, [&](const std::string& tmp) -> Status {
          Status st = Verify(tmp, name, seq);
          if (st.ok()) {
            return st;
          }
          return Status::Corruption("engine: snapshot " + name +
                                    " failed its read back and was not kept (older snapshots "
                                    "and the log are kept): " +
                                    st.ToString());
        }));
  }
  seq_.store(seq, std::memory_order_release);
  written_.fetch_add(1, std::memory_order_relaxed);
  return seq;
}

Status Snapshots::Verify(const std::string& path, const std::string& name, uint64_t seq) const {
  std::string bytes;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, path, &bytes));
  FLYWHEEL_ASSIGN_OR_RETURN(const SnapshotView view, DecodeSnapshot(bytes, name));
  if (view.seq != seq || !view.Find("dedup")) {
    return Status::Corruption("snapshot " + name + ": wrong sequence number or no dedup section");
  }
  // The same decoder recovery uses, into a scratch state (the live one keeps serving).
  LearnedState scratch(state_->specs(), state_->types(), state_->user_history());
  base::WriterLock lock(&scratch.mu);
  FLYWHEEL_RETURN_IF_ERROR(scratch.Reset());
  return scratch.Load(view, name);
}

Result<uint64_t> Snapshots::Write() {
  base::MutexLock lock(&write_mu_);
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, WriteLocked(/*copy=*/false));
  FLYWHEEL_RETURN_IF_ERROR(ApplyRetention());
  return seq;
}

Result<uint64_t> Snapshots::WritePurge() {
  base::MutexLock lock(&write_mu_);
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, WriteLocked(/*copy=*/true));
  FLYWHEEL_RETURN_IF_ERROR(FinishPurge(seq));
  return seq;
}

Status Snapshots::FinishPurge(uint64_t seq) {
  std::vector<std::string> doomed;
  for (const bool copies : {false, true}) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, List(copies));
    for (uint64_t s : seqs) {
      if (s < seq) {
        doomed.push_back(copies ? SnapshotCopyFileName(s) : SnapshotFileName(s));
      }
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(RemoveFiles(doomed));
  return ingestor_->RemoveSegmentsBefore(seq + 1);
}

Result<std::vector<std::string>> Snapshots::RemoveTempFiles() {
  std::vector<std::string> doomed;
  if (env_->FileExists(dir_)) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
    std::copy_if(names.begin(), names.end(), std::back_inserter(doomed),
                 [](const std::string& name) { return IsSnapshotTempFileName(name); });
  }
  FLYWHEEL_RETURN_IF_ERROR(RemoveFiles(doomed));
  return doomed;
}

Result<std::vector<uint64_t>> Snapshots::List(bool copies) const {
  return ListSnapshots(env_, dir_, copies);
}

bool Snapshots::Exists(const std::string& name) const {
  return env_->FileExists(io::JoinPath(dir_, name));
}

Result<SnapshotView> Snapshots::Read(const std::string& name, uint64_t seq,
                                     std::string* bytes) const {
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, io::JoinPath(dir_, name), bytes));
  FLYWHEEL_ASSIGN_OR_RETURN(SnapshotView view, DecodeSnapshot(*bytes, name));
  if (view.seq != seq) {
    return Status::Corruption("snapshot " + name + " holds sequence number " +
                              std::to_string(view.seq));
  }
  return view;
}

Status Snapshots::ApplyRetention() {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, List());
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<uint64_t> copies, List(/*copies=*/true));
  std::vector<std::string> doomed;
  for (size_t i = keep_; i < seqs.size(); ++i) {
    doomed.push_back(SnapshotFileName(seqs[i]));
  }
  for (uint64_t copy : copies) {
    if (!seqs.empty() && copy < seqs[0]) {
      doomed.push_back(SnapshotCopyFileName(copy));  // a newer snapshot is verified
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(RemoveFiles(doomed));
  if (!seqs.empty()) {
    // Keep the log from the oldest kept snapshot on, so recovery can fall back to it.
    const uint64_t oldest = seqs[std::min(keep_, seqs.size()) - 1];
    FLYWHEEL_RETURN_IF_ERROR(ingestor_->RemoveSegmentsBefore(oldest + 1));
  }
  return Status::Ok();
}

Status Snapshots::RemoveFiles(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    Status st = env_->RemoveFile(io::JoinPath(dir_, name));
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      return st;
    }
  }
  return names.empty() ? Status::Ok() : env_->SyncDir(dir_);
}

}  // namespace flywheel::engine
