// Attributor: joins outcomes to the lists that were shown (doc/loop.md, "Attribution and
// rewards"). It keeps every open impression (a `$impression` record whose attribution window has
// not passed), attributes each later event of the same user to one of them, and when a window
// passes hands a ClosedImpression to its listeners (closed_impression.h).
//
// Everything runs in log order and on the log's event time, never the wall clock, so recovery
// and `flywheel ope` replays give the same closed impressions and counters:
//   clock        max(event time of every event, time of every `$impression.close` record);
//   window       an impression shown at t is open while clock <= t + attribution_window_ms, and
//                closes (in (t, record order)) as soon as the clock passes it;
//   attribution  an event of user u on item i is attributed to
//                  1. the list its recommendation_id names, when that is an open list of u
//                     showing i (else it is counted unattributed: `unknown_recommendation` for
//                     an id no open or just-closed list of u has, `window_passed` for a list
//                     that closed, `not_shown` for a list without i; no fallback: the client
//                     named the list), and its event time is at most t + window;
//                  2. without an id: the newest open list of u showing i with t - 60 s <= event
//                     time <= t + window (60 s of clock skew between client and server);
//                     none: `not_shown`;
//                adding reward_weights[type] (the event type table's weights unless
//                loop.reward_weights overrides them; a rating below the rating threshold
//                weighs negatively, as in the table) to the item's reward; an item is clicked
//                when an attributed event had a positive reward weight;
//   close        items no event answered get loop.default_reward; the ClosedImpression goes
//                to every listener, then the counters take it.
// Bounds: at most max_open_per_user open lists per user and max_open_items shown items over
// all open lists; recording beyond either closes the oldest open list (of the user, or of all)
// first: `closed_early`. A recommendation id is remembered for one window after its list closed
// (at most 1,000,000 ids), so a second impression naming it is a duplicate and an event naming
// it counts as `window_passed`. A forgotten user's open lists and remembered ids are dropped:
// nothing closes for them, the counters keep what was counted.
//
// Threads: owned by LearnedState and guarded by its lock: the mutators (learner thread, state
// lock exclusive) and the readers (any thread, lock shared).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/event_types.h"
#include "flywheel/impression.h"
#include "flywheel/loop_options.h"
#include "flywheel/result.h"

#include "base/serial.h"
#include "engine/loop/closed_impression.h"

namespace flywheel::engine {

// The control record of the periodic close: `$impression.close`, ts_ms = the event time the
// clock advances to (doc/formats/event_log.md); user, item and context empty.
inline constexpr std::string_view kImpressionCloseType = "$impression.close";
Event ImpressionCloseRecord(TimestampMs close_ms);

// `$impression` and `$impression.close`: control records that never touch the catalogue (the
// learner rebuilds no trending list for them).
inline bool IsImpressionRecord(const Event& record) {
  return record.type.starts_with("$impression");
}

// kInvalidArgument naming the loop.* field for values the attributor cannot use: window <= 0,
// a non-finite default reward, bounds of 0, a negative tick, bad reward weights.
Status ValidateAttributionOptions(const LoopOptions& options, const EventTypeTable& types);

// The reward weights: `types` with the overrides of `spec` ("type=weight,..."; a type name or
// alias of the table, a finite weight, each type once). kInvalidArgument naming
// loop.reward_weights and the entry.
Result<EventTypeTable> ParseRewardWeights(std::string_view spec, const EventTypeTable& types);

class Attributor {
 public:
  // Why an event was or was not attributed.
  enum class Outcome { kAttributed, kUnknownRecommendation, kWindowPassed, kNotShown };
  static const char* OutcomeName(Outcome outcome);

  // Options that fail ValidateAttributionOptions fall back to the defaults for that field
  // (LearnedState::Reset reports the error first, so an engine never runs with them).
  Attributor(const LoopOptions& options, const EventTypeTable& types);

  // Not owned; called in registration order. Survives Reset and Load.
  void AddListener(ImpressionListener* listener);

  // Back to empty (counters included).
  void Reset();

  // A decoded `$impression` record with its user and items mapped to dense indices (`items[i]`
  // kNoItem: unknown to the id maps; such a slot is never matched and closes with the default
  // reward). An id already known (IsOpen or recently closed) is a duplicate: counted, ignored.
  void OnImpression(uint64_t seq, const Impression& impression, UserIdx user,
                    const std::vector<ItemIdx>& items);
  // An event applied to the models: advances the clock to its time (closing what is due), then
  // attributes it. `type`: its id in the event type table.
  Outcome OnEvent(const Event& event, UserIdx user, ItemIdx item, EventTypeId type);
  // Advances the clock to `now_ms` (if later) and closes every open list whose window passed.
  void CloseDue(TimestampMs now_ms);
  // The user is forgotten: drops their open lists and remembered ids (nothing closes).
  void ForgetUser(UserIdx user);

  // The periodic close (learner thread, lock shared): when idle_ms of wall time passed since the
  // last record, the record that closes what is due at clock + idle_ms, if anything is.
  std::optional<Event> CloseRecordDue(int64_t idle_ms) const;

  // Whether a list with this recommendation id is open / open or closed within the last window.
  bool IsOpen(std::string_view recommendation_id) const;
  bool Knows(std::string_view recommendation_id) const;
  TimestampMs clock() const { return clock_; }
  size_t open_lists() const { return open_.size(); }
  const LoopOptions& options() const { return options_; }
  // The counters and gauges (doc: ImpressionStats).
  void FillStats(ImpressionStats* out) const;
  // A `$impression` record that did not decode (LearnedState reports it).
  void CountBadRecord() { ++stats_.bad_records; }

  // Snapshot section `loop` (doc/formats/snapshot.md). Load replaces the contents; users and
  // items must be below the given sizes (kCorruption otherwise).
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in, size_t num_users, size_t num_items);

  // Lag histogram bucket bounds (ms): 1 s .. 1 h, then beyond.
  static constexpr std::array<int64_t, 13> kLagBoundsMs = {
      1'000,   2'000,   5'000,     10'000,    30'000,    60'000,   120'000,
      300'000, 600'000, 1'200'000, 1'800'000, 3'600'000, 7'200'000};

 private:
  struct Open {
    ClosedImpression list;
    uint64_t id_key = 0;  // hash of the recommendation id (0: none)
  };
  struct Remembered {
    uint64_t id_key = 0;
    UserIdx user = kNoUser;
    TimestampMs expires_ms = 0;
  };
  static uint64_t IdKey(std::string_view recommendation_id);

  TimestampMs Deadline(const ClosedImpression& list) const;
  // Closes open list `ordinal` now (early: by the bounds).
  void Close(uint64_t ordinal, bool early);
  void Remember(uint64_t id_key, UserIdx user);
  void ExpireRemembered();
  // Drops open list `ordinal` from every index (no close). Returns it.
  Open Remove(uint64_t ordinal);
  void Index(uint64_t ordinal, Open open);
  void MakeRoom(UserIdx user, size_t items);
  Outcome Attribute(const Event& event, ClosedImpression* list, ClosedSlot* slot, EventTypeId type);
  double Reward(EventTypeId type, double value) const;
  Status LoadOpen(base::ByteReader* in, size_t num_users, size_t num_items);

  LoopOptions options_;
  EventTypeTable rewards_;  // the type table with loop.reward_weights applied
  std::vector<ImpressionListener*> listeners_;

  TimestampMs clock_ = 0;
  uint64_t next_ordinal_ = 1;      // record order of the accepted impressions
  std::map<uint64_t, Open> open_;  // by ordinal
  std::set<std::pair<TimestampMs, uint64_t>> deadlines_;        // (ts + window, ordinal)
  std::unordered_map<UserIdx, std::vector<uint64_t>> by_user_;  // ordinals, ascending
  std::unordered_map<uint64_t, uint64_t> by_id_;                // id key -> ordinal
  size_t open_items_ = 0;
  std::deque<Remembered> remembered_;                     // closed ids, in closing order
  std::unordered_map<uint64_t, UserIdx> remembered_ids_;  // id key -> user
  ImpressionStats stats_;  // the counters (gauges filled by FillStats)
};

}  // namespace flywheel::engine
