// LearnedState: everything the engine learned from its log, in one place (doc/engine.md,
// "Learned state"): the id maps, the per-user states, the catalogue, every configured model,
// the trending and new-item lists derived from the catalogue, and the counters that go with
// them. It is the only class that resets, saves (snapshot sections) and loads that state, and
// the only one that applies a logged record to it, so nothing learned can be missed by one of
// them (recovery's reset, a snapshot, or the learner).
//
// Threads: one writer (the learner thread; recovery and Pretrain while the learner is stopped
// or excluded) and many readers (requests, snapshots, the vector indexer).
// Locks: `mu` (writer-preferring reader-writer lock, base/rw_lock.h) guards every member below
// it; clang's -Wthread-safety checks it (the clang-fuzz preset). Apply, Reset, Load and
// ReplaceModel need it exclusively; Save, readers and the accessors need it shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "base/rw_lock.h"
#include "base/thread_annotations.h"
#include "data/id_map.h"
#include "engine/learn/catalog.h"
#include "engine/learn/trending.h"
#include "engine/loop/attribution.h"
#include "engine/loop/impression_learner.h"
#include "engine/loop/reward_ranker.h"
#include "engine/store/snapshot_file.h"
#include "model/recommender.h"
#include "model/user_state.h"

namespace flywheel::engine {

// Creates the models of `specs` (kInvalidArgument for an unknown model or parameter).
Status CreateModels(const std::vector<ModelSpec>& specs,
                    std::vector<std::unique_ptr<model::Recommender>>* out);

class LearnedState {
 public:
  // `loop`: the attributor's options (checked by Reset). `model_learning` false: every model
  // Reset creates gets SetLearning(false) (a delta replica, EngineOptions::model_learning).
  LearnedState(std::vector<ModelSpec> specs, const EventTypeTable& types, size_t user_history,
               const LoopOptions& loop = {}, bool model_learning = true);
  LearnedState(const LearnedState&) = delete;
  LearnedState& operator=(const LearnedState&) = delete;

  // Everything back to empty, fresh models. Recovery only. kInvalidArgument for loop options
  // the attributor cannot use (ValidateAttributionOptions).
  Status Reset() REQUIRES(mu);
  // Loads every section this class saves from `view` (the snapshot's dedup section belongs to
  // the ingest side). Recovery only; on error the state is partly loaded: Reset it.
  Status Load(const SnapshotView& view, const std::string& name) REQUIRES(mu);
  // Appends the sections of the state at `seq`: meta, user_ids, item_ids, user_states, catalog,
  // user_values, catalog_extra, loop, model/<name> (doc/formats/snapshot.md). REQUIRES: mu held
  // (shared is enough).
  Status Save(uint64_t seq, std::vector<SnapshotSection>* sections) const REQUIRES_SHARED(mu);

  // What applying one record changed.
  struct Applied {
    ItemIdx item = kNoItem;  // the item whose vectors may have moved (kNoItem: none)
    std::string skipped;     // non-empty: a control record that could not be applied, and why
    // Items whose vectors the negatives of the impressions this record closed moved.
    std::vector<ItemIdx> moved;
  };
  // Applies one logged event or control record (catalog.h, impression_record.h) with its
  // sequence number (0 when unknown: it only names impressions). REQUIRES: mu held exclusively.
  Applied Apply(const Event& event, uint64_t seq = 0) REQUIRES(mu);

  // Rebuilds the trending and new-item lists from the catalogue at the last event's time (mu
  // shared), and swaps them in (mu exclusive). Learner thread (or recovery) only.
  void RebuildTrending(const PipelineOptions& options) EXCLUDES(mu);

  // The index of the model named `name` (empty: the first); kInvalidArgument when not
  // configured. No lock needed (the configuration never changes).
  Result<size_t> ModelIndex(const std::string& name) const;
  const std::vector<ModelSpec>& specs() const { return specs_; }
  const EventTypeTable& types() const { return types_; }
  size_t user_history() const { return user_history_; }
  bool model_learning() const { return model_learning_; }

  // Puts `fresh` in place of model `which`; the old one is kept alive until destruction (the
  // indexer thread may still read it). REQUIRES: mu held exclusively.
  void ReplaceModel(size_t which, std::unique_ptr<model::Recommender> fresh) REQUIRES(mu);

  mutable base::RwLock mu;
  data::IdMap user_ids GUARDED_BY(mu);
  data::IdMap item_ids GUARDED_BY(mu);
  model::UserStateStore users GUARDED_BY(mu);
  Catalog catalog GUARDED_BY(mu);
  // The vector (its size never changes after Reset) and the models it points to.
  std::vector<std::unique_ptr<model::Recommender>> models GUARDED_BY(mu);
  TrendingLists trending GUARDED_BY(mu);         // rebuilt by the learner (RebuildTrending)
  uint64_t forgotten_users GUARDED_BY(mu) = 0;   // user ids forgotten (index stays reserved)
  uint64_t forgets_applied GUARDED_BY(mu) = 0;   // user deletions applied since open
  TimestampMs last_event_ms GUARDED_BY(mu) = 0;  // the newest event time applied
  // Impressions and attribution (doc/loop.md): fed by Apply, saved as section `loop`. Its
  // ImpressionListeners are registered in the constructor (learned_state.cc).
  Attributor attributor GUARDED_BY(mu);

  // ----- Learning from impressions (doc/loop.md sections 5 and 6) -----
  // Listeners of closed impressions: negatives for the models (position-bias estimates) and the
  // reward ranker of policy "reward" (serving: reward_ranker.Rerank under mu shared). Reset,
  // saved (optional sections `loop_learner`, `loop_reward`) and forgotten with the state.
  ImpressionLearner impression_learner GUARDED_BY(mu);
  RewardRanker reward_ranker GUARDED_BY(mu);
  // Both, in the order the Attributor calls them (addresses only: stable for the state's life).
  std::vector<ImpressionListener*> learning_listeners() NO_THREAD_SAFETY_ANALYSIS {
    return {&impression_learner, &reward_ranker};
  }
  // The reranker of policy "reward" (its Rerank runs under mu shared, in the serving stages).
  const CandidateReranker* reward_reranker() const NO_THREAD_SAFETY_ANALYSIS {
    return &reward_ranker;
  }

 private:
  Applied ApplyEvent(const Event& event) REQUIRES(mu);
  Applied ApplyControl(const Event& record, uint64_t seq) REQUIRES(mu);
  Applied ApplyImpression(const Event& record, uint64_t seq) REQUIRES(mu);

  const std::vector<ModelSpec> specs_;
  const EventTypeTable types_;
  const size_t user_history_;
  std::vector<std::string> model_names_;  // specs_' names (the reward ranker's model lookup)
  const LoopOptions loop_;
  const bool model_learning_;
  std::vector<std::unique_ptr<model::Recommender>> retired_models_ GUARDED_BY(mu);
};

}  // namespace flywheel::engine
