#include "engine/learn/learner.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "engine/loop/impression_record.h"

namespace flywheel::engine {
namespace {
double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}
// A control record that changes the catalogue (the trending lists derive from it).
bool CatalogRecord(const Event& event) {
  return IsControl(event) && !IsImpressionRecord(event);
}
}  // namespace

Learner::Learner(LearnedState* state, const PipelineOptions& options, MessageLog* messages)
    : state_(state), options_(options), messages_(messages) {}

Learner::~Learner() {
  Stop();
}

bool Learner::TrendingDue(uint64_t seq, const Event& event) {
  const uint64_t every = std::clamp<uint64_t>(seq / 10, 1, 1000);
  return CatalogRecord(event) || seq % every == 0;
}

void Learner::Replay(const Event& event, uint64_t seq) {
  LearnedState::Applied applied;
  {
    base::WriterLock lock(&state_->mu);  // uncontended: no other thread runs yet
    applied = state_->Apply(event);
  }
  if (!applied.skipped.empty()) {
    messages_->Add(std::move(applied.skipped));
  }
  applied_seq_.store(seq, std::memory_order_release);
}

void Learner::FinishRecovery(uint64_t seq) {
  state_->RebuildTrending(options_);
  applied_seq_.store(seq, std::memory_order_release);
  visible_seq_.store(seq, std::memory_order_release);
}

void Learner::Start(Hooks hooks) {
  hooks_ = std::move(hooks);
  thread_ = std::thread([this] { Loop(); });
}

void Learner::Enqueue(Batch batch) {
  base::MutexLock lock(&queue_mu_);
  queue_.push_back(std::move(batch));
  queue_cv_.NotifyOne();
}

void Learner::Stop() {
  {
    base::MutexLock lock(&queue_mu_);
    stop_ = true;
  }
  queue_cv_.NotifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Learner::Loop() {
  int64_t tick_ms = 0;  // constant after open
  {
    base::ReaderLock lock(&state_->mu);
    tick_ms = state_->attributor.options().close_tick_ms;
  }
  const bool ticks = tick_ms > 0 && hooks_.log_control != nullptr;
  auto last_batch = std::chrono::steady_clock::now();
  while (true) {
    Batch batch;
    bool idle = false;
    {
      base::MutexLock lock(&queue_mu_);
      while (!stop_ && queue_.empty() && !idle) {
        if (!ticks) {
          queue_cv_.Wait(&queue_mu_);
        } else if (!queue_cv_.WaitUntil(&queue_mu_, std::chrono::steady_clock::now() +
                                                        std::chrono::milliseconds(tick_ms))) {
          idle = queue_.empty() && !stop_;
        }
      }
      if (queue_.empty() && !idle) {
        return;  // stop_ and drained
      }
      if (!idle) {
        batch = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (idle) {
      MaybeClose(std::chrono::steady_clock::now() - last_batch);
      continue;
    }
    for (size_t i = 0; i < batch.events.size(); ++i) {
      ApplyOne(batch.events[i], batch.first_seq + i, batch.acked, i + 1 == batch.events.size());
    }
    last_batch = std::chrono::steady_clock::now();
    { base::MutexLock lock(&applied_mu_); }
    applied_cv_.NotifyAll();
  }
}

void Learner::MaybeClose(std::chrono::steady_clock::duration idle) {
  std::optional<Event> record;
  {
    base::ReaderLock lock(&state_->mu);
    record = state_->attributor.CloseRecordDue(
        std::chrono::duration_cast<std::chrono::milliseconds>(idle).count());
  }
  if (record) {
    // Applied when it comes back through the queue. A refused write (read-only, disk full,
    // closing) closes nothing: the next tick tries again.
    (void)hooks_.log_control(std::move(*record));
  }
}

void Learner::ApplyOne(const Event& event, uint64_t seq,
                       std::chrono::steady_clock::time_point acked, bool last_in_batch) {
  LearnedState::Applied applied;
  {
    base::WriterLock lock(&state_->mu);
    applied = state_->Apply(event, seq);
    freshness_.Add(MsSince(acked));
    // Under the lock (a snapshot's sequence number must match its state), and after the
    // freshness sample, so a reader that saw `seq` applied also sees its sample.
    applied_seq_.store(seq, std::memory_order_release);
  }
  if (!applied.skipped.empty()) {
    messages_->Add(std::move(applied.skipped));
  }
  if (hooks_.item_changed) {
    if (applied.item != kNoItem) {
      hooks_.item_changed(applied.item);
    }
    for (const ItemIdx moved : applied.moved) {  // negatives of the lists the record closed
      hooks_.item_changed(moved);
    }
  }
  const bool due = TrendingDue(seq, event);
  trending_pending_ = trending_pending_ || (due && CatalogRecord(event));
  if ((due && !CatalogRecord(event)) || (trending_pending_ && last_in_batch)) {
    state_->RebuildTrending(options_);  // reads the catalogue unlocked (this thread writes it)
    trending_pending_ = false;
  }
  if (!trending_pending_) {
    visible_seq_.store(seq, std::memory_order_release);
  }
  if (hooks_.applied) {
    hooks_.applied(seq);
  }
}

Status Learner::WaitForApplied(uint64_t seq, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  base::MutexLock lock(&applied_mu_);
  while (visible_seq_.load(std::memory_order_acquire) < seq) {
    if (!applied_cv_.WaitUntil(&applied_mu_, deadline)) {
      break;
    }
  }
  if (visible_seq_.load(std::memory_order_acquire) < seq) {
    return Status::DeadlineExceeded("engine: sequence " + std::to_string(seq) +
                                    " not applied within " + std::to_string(timeout_ms) + " ms");
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
