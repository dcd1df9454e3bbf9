// Learner: the engine's single learner thread (doc/engine.md, "Learner"). It takes the batches
// the ingest side logged, in log order, and applies each event to the LearnedState under its
// exclusive lock (one event per lock hold, so a request waits at most for one event), then
// publishes progress:
//   applied_seq  the state reflects every event up to it (set under the state lock, so a
//                snapshot's sequence number always matches its state);
//   visible_seq  what derives from those events is published too (the trending and new-item
//                lists, rebuilt on a deterministic schedule): WaitForApplied waits on it.
// After each event it calls the hooks: `item_changed` (the vector indexer marks the item) and
// `applied` (the engine's automatic snapshots), both on the learner thread.
// The periodic close (doc/loop.md, "Closing"): when no batch arrived for loop.close_tick_ms of
// wall time and an open impression's window passed at (the attributor's clock + that idle
// time), the learner logs a `$impression.close` record at that time through `log_control`
// and applies it like any record (in log order, so recovery closes the same lists at the same
// point). Nothing is logged while nothing is due, or when the log refuses writes.
//
// Threads: Enqueue from the ingest side (under its lock, so batches arrive in log order);
// WaitForApplied and the accessors from any thread; the hooks run on the learner thread.
// Locks: queue_mu_ guards the queue and the stop flag; applied_mu_ pairs with applied_cv_ for
// waiters; the counters are atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "flywheel/engine.h"

#include "base/histogram.h"
#include "base/mutex.h"
#include "engine/learn/learned_state.h"
#include "engine/messages.h"

namespace flywheel::engine {

// A logged batch on its way to the learner.
struct Batch {
  uint64_t first_seq = 0;
  std::vector<Event> events;
  std::chrono::steady_clock::time_point acked;  // when the ingest side acknowledged it
};

class Learner {
 public:
  struct Hooks {
    std::function<void(ItemIdx)> item_changed;  // an item's vectors may have moved
    std::function<void(uint64_t)> applied;      // the event with this seq is applied and visible
    // Logs a control record (the periodic close); null: no periodic close.
    std::function<Result<uint64_t>(Event)> log_control;
  };

  Learner(LearnedState* state, const PipelineOptions& options, MessageLog* messages);
  ~Learner();  // Stop()
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  // Whether the trending lists are due after applying `seq` (a deterministic schedule: every
  // catalogue control record (not impressions), and every max(1, min(1000, seq / 10)) records).
  // Within one logged batch the rebuild a control record asks for waits for the batch's last record
  // (Engine::PutItems logs up to 1,000 item puts as one batch: one rebuild, not one per item), and
  // the batch's records become visible together after it.
  static bool TrendingDue(uint64_t seq, const Event& event);

  // Recovery, before Start: applies one logged record (no lock needed: no other thread runs).
  void Replay(const Event& event, uint64_t seq);
  // Recovery done: rebuilds the trending lists and publishes `seq` as applied and visible.
  void FinishRecovery(uint64_t seq);
  // Starts the thread.
  void Start(Hooks hooks);
  // Hands a logged batch over (in log order).
  void Enqueue(Batch batch) EXCLUDES(queue_mu_);
  // Applies what is queued, then stops the thread. Idempotent.
  void Stop();

  // Blocks until `seq` is visible, or kDeadlineExceeded after timeout_ms.
  Status WaitForApplied(uint64_t seq, int timeout_ms) const;
  uint64_t applied_seq() const { return applied_seq_.load(std::memory_order_acquire); }
  uint64_t visible_seq() const { return visible_seq_.load(std::memory_order_acquire); }
  const base::AtomicHistogram& freshness() const { return freshness_; }

 private:
  void Loop();
  // The periodic close after `idle` of wall time without a batch.
  void MaybeClose(std::chrono::steady_clock::duration idle);
  void ApplyOne(const Event& event, uint64_t seq, std::chrono::steady_clock::time_point acked,
                bool last_in_batch);

  LearnedState* const state_;
  const PipelineOptions& options_;
  MessageLog* const messages_;
  Hooks hooks_;

  base::Mutex queue_mu_;
  base::CondVar queue_cv_;
  std::deque<Batch> queue_ GUARDED_BY(queue_mu_);
  bool stop_ GUARDED_BY(queue_mu_) = false;
  std::thread thread_;

  mutable base::Mutex applied_mu_;  // with applied_cv_: waiters of WaitForApplied
  mutable base::CondVar applied_cv_;
  std::atomic<uint64_t> applied_seq_{0};
  // Trails applied_seq_ by at most the one event the learner is finishing.
  std::atomic<uint64_t> visible_seq_{0};
  base::AtomicHistogram freshness_;  // acknowledgement to applied, ms
  bool trending_pending_ = false;    // learner thread only: a control record's rebuild waits
};

}  // namespace flywheel::engine
