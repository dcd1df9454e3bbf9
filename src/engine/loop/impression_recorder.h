// ImpressionRecorder: how impressions get in (doc/loop.md, sections 1 and 2). It gives every
// Engine::Recommend answer its recommendation id and keeps it in the served-list cache, logs
// lists as shown (Engine::RecordImpression, RecommendQuery::record_impression) as `$impression`
// control records through the Ingestor, and tells the Ingestor which record goes before an
// event naming a list (ImpressionSource).
//
// Known items: an explicit list (no cached recommendation id) may name only items the engine
// has seen (in an event or a catalogue put, deleted or not), judged on everything logged before
// the call: kInvalidArgument naming `items[i]` otherwise. An item never seen is refused (a
// client bug: a wrong id namespace, a typo) rather than invented.
//
// Each recommendation id is logged at most once: the served-list cache remembers recorded ids
// within its bounds; `KnownRecorded` (the attributor's open impressions, across restarts) is
// asked for ids the cache does not hold.
//
// Threads: any thread; the parts are thread-safe. Lock order: the ingestor's lock before the
// cache's; the learned state's shared lock is never held while logging.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flywheel/engine.h"

#include "engine/ingest/ingestor.h"
#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/loop/loop_options.h"
#include "engine/loop/served_lists.h"
#include "engine/serve/query_runner.h"

namespace flywheel::engine {

class ImpressionRecorder final : public ImpressionSource {
 public:
  // Registers itself with `ingestor` (ImpressionSource).
  ImpressionRecorder(const LoopOptions& options, const LearnedState* state, const Learner* learner,
                     const QueryRunner* queries, Ingestor* ingestor);
  ImpressionRecorder(const ImpressionRecorder&) = delete;
  ImpressionRecorder& operator=(const ImpressionRecorder&) = delete;
  ~ImpressionRecorder() override;

  // The attributor's answer to "was this recommendation id recorded?" for ids not in the cache
  // (restarts). Set before requests; unset: the cache alone decides.
  void SetKnownRecorded(std::function<bool(const std::string&)> known) {
    known_recorded_ = std::move(known);
  }

  // Engine::Recommend: the answer with its id, cached; logged first with record_impression.
  Result<RecommendResult> Recommend(const RecommendQuery& query);
  // Engine::RecordImpression.
  Result<ImpressionResult> Record(const ImpressionInput& input);

  // ImpressionSource.
  std::vector<EventError> CheckEvents(std::span<const Event> events) const override;
  std::optional<Event> ClaimFor(const Event& event) override;
  void Release(const std::string& recommendation_id) override;

  const ServedLists& served() const { return served_; }

 private:
  // The cached list `list` restricted to `shown` (empty: all), at served positions;
  // kInvalidArgument naming `<field>[i]` for an item it did not show.
  static Result<Impression> FromServed(const std::string& id, const ServedList& list,
                                       const std::vector<std::string>& shown,
                                       const std::string& field);
  // Positions 0..n-1, propensities unknown.
  static Impression Explicit(const std::string& user, const std::string& id,
                             const std::vector<std::string>& items, TimestampMs ts_ms);
  // The index of the first item the engine has never seen (waits once for the learner to
  // apply everything logged before); nullopt when all are known. `also`: items that count as
  // known (the items of a batch's events).
  std::optional<size_t> FirstUnknown(const std::vector<std::string>& items,
                                     const std::vector<std::string>* also) const;
  // Claims the id (cache or recorded set): false for a duplicate.
  bool ClaimExplicitId(const std::string& id);
  // Logs a claimed impression; releases the claim when it fails.
  Result<uint64_t> Log(const Impression& impression);
  TimestampMs NewestEventMs() const;

  const LoopOptions options_;
  const LearnedState* const state_;
  const Learner* const learner_;
  const QueryRunner* const queries_;
  Ingestor* const ingestor_;
  ServedLists served_;
  // The ids, made at the first answer (after recovery): loop.seed mixed with the log's end.
  std::once_flag ids_once_;
  std::unique_ptr<RecommendationIds> ids_;
  std::function<bool(const std::string&)> known_recorded_;
};

}  // namespace flywheel::engine
