#include "engine/store/snapshot_policy.h"

namespace flywheel::engine {

void SnapshotPolicy::Reset(uint64_t seq) {
  last_seq_ = seq;
  last_time_ = std::chrono::steady_clock::now();
}

bool SnapshotPolicy::Due(uint64_t seq) {
  if (seq <= last_seq_) {
    return false;
  }
  bool due = every_ > 0 && seq - last_seq_ >= every_;
  const auto now = std::chrono::steady_clock::now();
  if (!due && interval_ms_ > 0) {
    due = now - last_time_ >= std::chrono::milliseconds(interval_ms_);
  }
  if (due) {
    last_seq_ = seq;
    last_time_ = now;
  }
  return due;
}

}  // namespace flywheel::engine
