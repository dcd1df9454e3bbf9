// UserState: what the engine knows about one user at a moment: the most recent interactions
// (bounded ring, oldest first) and the set of distinct items ever interacted with (for
// "exclude seen" and first-interaction checks). Owned outside the models (by the evaluation
// harness or the engine's learner), so that a frozen model still sees the user's latest history
// as input, as a serving system would.
// Not thread-safe: mutated by one writer; readers need external synchronisation.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <unordered_set>
#include <vector>

#include "flywheel/status.h"
#include "flywheel/types.h"

#include "base/serial.h"
#include "data/interaction.h"

namespace flywheel::model {

// 24 bytes: `value` sits in what would be padding after `item`.
struct HistoryEntry {
  ItemIdx item = 0;
  float value = std::numeric_limits<float>::quiet_NaN();  // the event's value; NaN: unknown
  TimestampMs ts_ms = 0;
  float weight = 1.0f;
  EventTypeId type = 0;
};

class UserState {
 public:
  static constexpr size_t kDefaultCapacity = 200;

  explicit UserState(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Appends the interaction (evicting the oldest beyond capacity) and records the item as seen.
  void Add(const data::Interaction& event);

  // Most recent interactions, oldest first (at most capacity()).
  const std::deque<HistoryEntry>& recent() const { return recent_; }
  bool HasSeen(ItemIdx item) const { return seen_.count(item) != 0; }
  // Distinct items in order of first interaction.
  std::span<const ItemIdx> seen_items() const { return seen_order_; }
  int64_t num_events() const { return num_events_; }
  size_t capacity() const { return capacity_; }

  // Snapshot encoding (doc/formats/snapshot.md). Load replaces the contents.
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);
  // The values of recent(), oldest first (section `user_values`, saved apart so that snapshots
  // without it still load: the values are then unknown, NaN). LoadValues after Load.
  void SaveValues(base::ByteWriter* out) const;
  Status LoadValues(base::ByteReader* in);

 private:
  size_t capacity_;
  std::deque<HistoryEntry> recent_;
  std::unordered_set<ItemIdx> seen_;
  std::vector<ItemIdx> seen_order_;
  int64_t num_events_ = 0;
};

// Dense table of UserState by UserIdx, growing on demand. A deque: growing never moves or copies
// existing states (a vector would copy them, std::deque's move not being noexcept).
class UserStateStore {
 public:
  explicit UserStateStore(size_t capacity = UserState::kDefaultCapacity) : capacity_(capacity) {}
  UserState& Get(UserIdx user);
  // An empty state for users never seen.
  const UserState& Find(UserIdx user) const;
  size_t size() const { return states_.size(); }
  // Drops the state of `user` (forgetting); no-op for unknown users.
  void Clear(UserIdx user);

  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);
  void SaveValues(base::ByteWriter* out) const;
  Status LoadValues(base::ByteReader* in);

 private:
  size_t capacity_;
  std::deque<UserState> states_;
  UserState empty_;
};

}  // namespace flywheel::model
