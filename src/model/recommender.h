// Recommender: the interface every model implements, used by the evaluation harness and by the
// engine's learner and serving stages: one code path for offline evaluation and serving.
//
//   Fit(history)        optional batch warm start on time-ordered past events
//   Observe(event, u)   incremental update from one event; `u` is the user's state BEFORE it
//   Recommend(request)  top-k items for a user at a time, best first
//
// Contract: a model learns only from what it is given through Fit/Observe (the harness proves it
// calls Recommend for an event before Observe for it: no leakage). It ranks only items it knows
// (items it has observed), never returns an excluded item, and returns at most k items ordered by
// (score desc, item asc). Thread safety: Observe/Fit are called by one writer; Recommend is const
// and may run concurrently with other Recommend calls (not yet with Observe: the engine issue
// adds the publication scheme).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

#include "base/serial.h"
#include "data/interaction.h"
#include "model/user_state.h"

namespace flywheel::model {

struct ScoredItem {
  ItemIdx item = kNoItem;
  float score = 0.0f;
};

// Recommender::ExportDelta: what an export holds.
enum class DeltaScope { kRows, kDense, kFull };
struct DeltaInfo {
  bool full = false;   // everything (the replica may start from it)
  bool dense = false;  // the dense weights are in it
  size_t rows = 0;     // parameter rows in it
};

// A delta DecodeDelta checked, for ApplyDecoded of the same model (each model its own kind).
class DecodedDelta {
 public:
  virtual ~DecodedDelta() = default;
};

struct RecommendRequest {
  UserIdx user = kNoUser;
  int k = 10;
  TimestampMs now_ms = 0;
  const UserState* user_state = nullptr;  // the user's history; never null (empty for new users)
  std::span<const ItemIdx> exclude;       // items that must not be returned
};

class Recommender {
 public:
  virtual ~Recommender() = default;

  // Short model name as used on the command line ("pop", "itemknn").
  virtual std::string name() const = 0;
  // Hyper-parameters, for reports.
  virtual KeyValues params() const = 0;
  // What the model measured about itself on the data (not parameters: they never key a fit
  // cache), for reports; e.g. the arm "default" serves per segment. Empty by default.
  virtual KeyValues diagnostics() const { return {}; }

  // True for a parameter that changes only online learning (Observe), never what Fit produces:
  // the evaluation's fit cache (eval/fit_cache.h) leaves such parameters out of its key.
  virtual bool OnlineOnlyParam(std::string_view /*name*/) const { return false; }

  // Batch warm start on time-ordered events. The default replays Observe in order with user
  // states of its own; models with a real batch trainer override it.
  virtual Status Fit(std::span<const data::Interaction> history);

  virtual void Observe(const data::Interaction& event, const UserState& user) = 0;

  // Items shown to `user` and ignored (doc/loop.md, "Learning from impressions"): negatives with
  // weights in (0, 1] (the examination probability of their positions times the configured
  // weight). Called by the learner, like Observe, when an impression closes; `user` is the
  // user's state then. The default ignores them (models without negatives).
  virtual void ObserveNegatives(UserIdx /*user*/, std::span<const ItemIdx> /*items*/,
                                std::span<const float> /*weights*/, TimestampMs /*now_ms*/,
                                const UserState& /*state*/) {}

  // Fills *out (cleared first) with at most request.k items.
  virtual void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const = 0;

  // Number of items the model can rank now (a prefix [0, n) of the item index space).
  virtual size_t num_items() const = 0;

  // Item content (title, categories, tags, attributes) for an item entering the catalogue or
  // changing. The harness and the engine call it before any event of the item is scored (in
  // evaluation: just before the item's first event, or before Fit for protocols L and T).
  // Content-aware models use it so that a new item is recommendable before its first
  // interaction; the default ignores it. Writer-side (same thread as Observe).
  virtual void SetItemContent(ItemIdx /*item*/, const Item& /*content*/) {}

  // Retrieval vectors for the engine's candidate pipeline and ANN index (doc/ann.md). A model
  // whose score is an inner product plus an item bias exposes them with the bias folded in:
  // score(u, i) = <RetrievalQuery(u), RetrievalItem(i)>, where the query's last coordinate is 1
  // and the item's last coordinate is its bias; similarity between items uses the first
  // retrieval_dim() - 1 coordinates. retrieval_dim() == 0: the model has no vectors (the
  // pipeline then takes candidates from Recommend). Reader-side (const, like Recommend).
  virtual size_t retrieval_dim() const { return 0; }
  // False for models whose ranking ignores the user (popularity): the pipeline then gives
  // popularity reasons.
  virtual bool personalised() const { return true; }
  // False when the model cannot personalise for this request (it would fall back to popularity).
  virtual bool RetrievalQuery(const RecommendRequest& /*request*/, std::span<float> /*out*/) const {
    return false;
  }
  // False for items the model does not rank (unknown to it).
  virtual bool RetrievalItem(ItemIdx /*item*/, std::span<float> /*out*/) const { return false; }

  // How much each of the user's recent items shaped the model's representation of the user
  // (sasrec: the attention of the newest position), weights >= 0 summing to 1, best first.
  // Empty when the model has no such attribution; the pipeline then explains by vector
  // similarity alone. Reader-side.
  virtual std::vector<std::pair<ItemIdx, float>> RecentAttribution(
      const RecommendRequest& /*request*/) const {
    return {};
  }

  // Forgets a user (right to be forgotten): everything the model keeps about this user alone
  // (rows, histories, replay samples) is dropped; a later event of the same index starts fresh.
  // Aggregates learned from the user's past events (item vectors, counts) are kept. Writer-side.
  virtual void ForgetUser(UserIdx /*user*/) {}

  // Snapshot support (doc/formats/snapshot.md): SaveState appends the whole learned state,
  // including random-generator state, so that LoadState into a model freshly created with the
  // same parameters, followed by the same Observe calls, gives bit-identical results. LoadState
  // returns kCorruption on malformed bytes and leaves the model unusable on error (the engine
  // then discards it). Models that cannot be snapshotted return kUnimplemented.
  virtual Status SaveState(base::ByteWriter* out) const;
  virtual Status LoadState(base::ByteReader* in);

  // Delta replication (doc/stream.md, "Delta mode"): a trainer's model ships what it learned as
  // row deltas instead of every replica learning again. A model that supports it
  //   - with learning off (SetLearning(false), a delta replica) keeps from Observe only what its
  //     serving needs besides its parameters (known items, counts) and takes no training step;
  //   - ExportDelta (trainer, writer side) appends the parameter rows that changed since its
  //     previous export, plus the dense weights (those that changed) for scope kDense, or
  //     everything for kFull; the first export after creation, LoadState or Fit is full
  //     whatever the scope. *info says what went in. Values are absolute, so applying the
  //     exports of one trainer in order from a full one reproduces its serving parameters
  //     exactly (optimizer moments and replay samples are not shipped: a replica never trains);
  //   - ApplyDelta (replica, writer side) applies one and appends to *changed the items whose
  //     retrieval vectors may have moved: kCorruption on malformed bytes (the model is
  //     unchanged then), kFailedPrecondition for a delta of another shape. It is DecodeDelta
  //     (const: checksum, parsing and checks, reader side, e.g. under a shared lock) followed by
  //     ApplyDecoded (writer side: the copies), so a caller can hold its exclusive lock for
  //     the copies only.
  // The defaults: no deltas (kUnimplemented); such a model is replayed on delta replicas.
  virtual bool SupportsDeltas() const { return false; }
  virtual void SetLearning(bool /*on*/) {}
  virtual Status ExportDelta(DeltaScope scope, base::ByteWriter* out, DeltaInfo* info);
  virtual Result<std::unique_ptr<DecodedDelta>> DecodeDelta(base::ByteReader* in) const;
  virtual Status ApplyDecoded(const DecodedDelta& delta, std::vector<ItemIdx>* changed);
  Status ApplyDelta(base::ByteReader* in, std::vector<ItemIdx>* changed);

  // Explicit-rating prediction for models that have one (e.g. bpr with loss=mse); nullopt
  // otherwise. The evaluation reports RMSE and MAE on rating events when this is available.
  virtual std::optional<float> PredictRating(UserIdx /*user*/, ItemIdx /*item*/) const {
    return std::nullopt;
  }
};

// Selects the top `k` entries of `scores` (index = item) by (score desc, index asc), skipping
// `exclude` and entries equal to -infinity. `scores` is used as scratch (excluded entries are
// overwritten). Deterministic.
void SelectTopK(std::span<float> scores, int k, std::span<const ItemIdx> exclude,
                std::vector<ScoredItem>* out);

// A per-thread scratch vector of `n` zeros for dense scoring in Recommend().
std::span<float> ScratchScores(size_t n);

}  // namespace flywheel::model
