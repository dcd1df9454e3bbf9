// TwoTower ("twotower"): content-aware factorization (issue 3). Design and measurements:
// doc/models/twotower.md.
//
//   item tower  v_i = e_i + c_i,  c_i = sum_f w_if x_f  (b_i: a bias per item)
//     e_i: the item's id row; x_f: rows of the item's content features (categories, tags, title
//     tokens, year decade, other attributes; each a 64-bit hash of kind + text, see
//     twotower_features.h), w_if: mean pooling within a kind, then averaged over the kinds present.
//     An item with content and no events scores with e_i = 0 and b_i = 0 (the tables return zeros
//     for ids without a row): it is recommendable from its features before its first event.
//   user tower  q_u = p_u + h_u,  h_u = sum_j a_j v_j / sum_j a_j over the user's last `history`
//     positive items j (the target excluded, most recent first, rank r_j = 0, 1, ...),
//     a_j = weight_j * 2^(-(t_last - t_j) / half_life) * history_decay^r_j: time-decayed pooling
//     (relative to the user's latest event, which the normalisation makes equivalent to decay
//     from "now"). A new user is personal after their first event (h_u); a user with neither a
//     row nor history is ranked by the biases b_i (a learned popularity).
//   score       x_ui = q_u . v_i + b_i.
//
// Loss per positive event (weight > 0) with `negatives` sampled items j (a sampled j equal to i or
// seen by the user is redrawn up to 3 times):
//   popularity_sampling=1 (default)  j drawn from the replay reservoir (~ proportional to past
//     positive counts) with log-q correction x'_uj = x_uj - log(q_j * n), q_j = count_j / total,
//     n = known items (relative to uniform); 0: j uniform over known items, no correction.
//   loss=softmax (default)  -log softmax over {i} + negatives (sampled softmax; with popularity
//     sampling the correction applies to every candidate, the positive included);
//   loss=bpr                mean_j -log sigmoid(x_ui - x'_uj).
// A negative-weight event (skip, dislike) takes one step on -log sigmoid(-x_ui): pushes away.
// Gradients reach p_u, e_i, b_i, the feature rows x_f (times w_if) and the history items' id
// rows e_j (times a_j / sum a), all through embedding::EmbeddingTable (sparse optimizer, L2 `l2`
// on the candidate and user rows, non-finite guard: non-finite values never reach a row).
// Learning-rate schedule: lr_t = lr / sqrt(1 + lr_decay * t), t = steps so far.
//
// Online (Observe): one step on the event plus `replay` steps on events drawn from a reservoir
// (Algorithm R, capacity `reservoir`) of past positives, against forgetting; a replayed event's
// history is the model's own ring of each user's last `history` positives.
// Batch (Fit): records the history's statistics once in time order, then `epochs` seeded shuffled
// passes through the same step code, each event with its user's history before it.
// threads=1 (default): single-threaded and deterministic (same seed + same calls = bit-identical
// model). threads>1: Hogwild Fit (each thread its own Rng and scratch; rows are updated under the
// tables' locks, so rows are never torn but the result depends on scheduling); Observe is always
// single-threaded.
//
// Scoring is exact over all known items (num_items() = 1 + the largest item index given to
// SetItemContent or Observe; items in that prefix never given are not returned). Because
// x_ui = q.e_i + b_i + sum_f w_if (q.x_f), Recommend computes q.x_f once per feature and q.e_i +
// b_i with one blocked GEMV each (mirrors of the rows in panels of 8: r[k] of row n at panel[(n /
// 8) * 8 * dim + k * 8 + n % 8], refreshed from the tables after every update), then adds each
// item's weighted feature scores. Non-finite scores are clamped to finite values.
//
// Snapshots: SaveState/LoadState (format in doc/models/twotower.md; versioned, CRC32C-checked,
// kCorruption on any damage). Thread safety: see Recommender.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/random.h"
#include "embedding/embedding_table.h"
#include "model/param_table.h"
#include "model/recommender.h"

namespace flywheel::model {

enum class TwoTowerLoss : uint32_t { kBpr = 0, kSoftmax = 1 };

struct TwoTowerOptions {
  uint32_t dim = 32;
  TwoTowerLoss loss = TwoTowerLoss::kSoftmax;
  embedding::OptimizerKind optimizer = embedding::OptimizerKind::kAdagrad;
  float lr = 0.1f;
  float lr_decay = 0.0f;
  float l2 = 1e-4f;
  float init_std = 0.1f;
  float clip = 0.0f;
  int negatives = 16;
  bool popularity_sampling = true;  // negatives from the reservoir (~ counts) with log-q correction
  int history = 20;                 // items pooled into the user tower
  float half_life_hours = 24.0f;    // time decay of the pooling
  float history_decay = 0.7f;       // position decay of the pooling (1: none)
  bool content = true;              // false: no feature rows (ablation: an id-only model)
  int max_tags = 20;                // tags and title tokens used per item
  int replay = 1;
  int reservoir = 100000;
  int epochs = 5;
  int threads = 1;
  uint64_t seed = 1;
};

// kInvalidArgument naming the bad field (the ranges of TwoTowerParamTable).
Status ValidateTwoTowerOptions(const TwoTowerOptions& options);
// The parameters of "twotower" (model/param_table.h; doc/params.md).
const ParamTable<TwoTowerOptions>& TwoTowerParamTable();

class TwoTower final : public Recommender {
 public:
  static Result<std::unique_ptr<TwoTower>> Create(const TwoTowerOptions& options);
  ~TwoTower() override;

  std::string name() const override { return "twotower"; }
  KeyValues params() const override;
  Status Fit(std::span<const data::Interaction> history) override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  // Shown-and-ignored items (doc/models/twotower.md, "Negatives from impressions"): one step on
  // sum_j w_j -log sigmoid(-x_uj) with the user's tower pooled from their recent positives, as a
  // skip event's push-away step, weighted.
  void ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                        std::span<const float> weights, TimestampMs now_ms,
                        const UserState& state) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override { return known_.size(); }
  void SetItemContent(ItemIdx item, const Item& content) override;
  // Drops p_u, the user's history ring and the user's events in the replay reservoir.
  void ForgetUser(UserIdx user) override;
  size_t retrieval_dim() const override { return options_.dim + 1; }
  bool RetrievalQuery(const RecommendRequest& request, std::span<float> out) const override;
  bool RetrievalItem(ItemIdx item, std::span<float> out) const override;
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

  // Fills `scores` (size num_items()) with the raw scores Recommend ranks (unknown items -inf).
  void ScoreAll(const RecommendRequest& request, std::span<float> scores) const;
  // x_ui for a user with the given history (as Recommend scores it).
  float Score(UserIdx user, const UserState& state, ItemIdx item) const;

  const TwoTowerOptions& options() const { return options_; }
  uint64_t steps() const { return steps_.load(std::memory_order_relaxed); }
  size_t num_features() const { return feature_hashes_.size(); }
  // Updates dropped by the tables' non-finite guards.
  uint64_t skipped_non_finite() const;
  // Every float of every row of every table is finite.
  bool AllRowsFinite() const;

  struct FeatureRef {
    uint32_t feature;  // dense feature index
    float weight;      // w_if
  };
  struct Replayed {
    UserIdx user;
    ItemIdx item;
    TimestampMs ts_ms;
  };
  struct Worker;  // per-thread Rng and scratch (twotower.cc)

 private:
  TwoTower(const TwoTowerOptions& options, std::unique_ptr<embedding::EmbeddingTable> users,
           std::unique_ptr<embedding::EmbeddingTable> items,
           std::unique_ptr<embedding::EmbeddingTable> features);

  void GrowItems(ItemIdx item);
  void Remember(const data::Interaction& event);
  void PushRing(UserIdx user, const HistoryEntry& entry);
  // One positive step plus `replay` replays, or one push-away step for weight < 0.
  void Train(const data::Interaction& event, std::span<const HistoryEntry> history,
             const UserState* seen, int replay, Worker* worker);
  // One step: candidates[0] is the event's item; `positive` false: push-away on it alone.
  void Step(UserIdx user, ItemIdx item, bool positive, std::span<const HistoryEntry> history,
            const UserState* seen, TimestampMs now, Worker* worker);
  // Applies the merged gradients of one step (worker's g_*) and refreshes the mirrors.
  void ApplyStep(UserIdx user, TimestampMs now, Worker* w);
  ItemIdx SampleNegative(ItemIdx positive, const UserState* seen, Worker* worker) const;
  ItemIdx DrawCandidate(Worker* worker) const;
  // log(q_i * n) of popularity sampling (q_i = count_i / total, n = known items); 0 when uniform.
  float LogQ(ItemIdx item) const;
  float NextLr();
  void FitEpochs(std::span<const data::Interaction> history, std::span<const uint32_t> positions,
                 const std::vector<std::vector<HistoryEntry>>& per_user,
                 const UserStateStore& seen);
  void RefreshItems(std::span<const uint64_t> items);
  void RefreshFeatures(std::span<const uint64_t> features);
  void RebuildMirrors();
  // Appends the item's features to the CSR copy when it is past the covered items, else rebuilds.
  void UpdateCsr(ItemIdx item);
  void RebuildCsr();
  // q_u from the mirrors (dim floats).
  void QueryVector(UserIdx user, const UserState* state, std::span<float> query) const;
  // v_i (dim floats) and b_i from the mirrors.
  void MirrorItemVector(ItemIdx item, float* out) const;
  uint32_t FeatureIndex(uint64_t hash);
  Status LoadBody(base::ByteReader* in);

  TwoTowerOptions options_;
  std::unique_ptr<embedding::EmbeddingTable> users_;     // p_u: dim
  std::unique_ptr<embedding::EmbeddingTable> items_;     // e_i, b_i: dim + 1
  std::unique_ptr<embedding::EmbeddingTable> features_;  // x_f: dim (id = dense feature index)
  std::unique_ptr<Worker> worker_;                       // the writer's (holds the model Rng)
  std::vector<uint8_t> known_;
  size_t num_known_ = 0;
  std::vector<float> counts_;  // positive events per item
  double total_count_ = 0;
  std::vector<std::vector<FeatureRef>> item_features_;
  std::unordered_map<uint64_t, uint32_t> feature_index_;
  std::vector<uint64_t> feature_hashes_;  // dense index -> hash
  std::vector<Replayed> reservoir_;
  uint64_t positives_seen_ = 0;
  std::unordered_map<UserIdx, std::vector<HistoryEntry>> rings_;  // last `history` positives
  std::atomic<uint64_t> steps_{0};
  bool refresh_mirrors_ = true;  // off inside a Hogwild Fit (rebuilt after it)
  // Mirrors for scoring (see the header comment).
  std::vector<float> item_panels_;
  std::vector<float> item_bias_;
  std::vector<float> feature_panels_;
  // item_features_ flattened (CSR) for scoring: item i's features are
  // csr_refs_[csr_begin_[i], csr_begin_[i + 1]) for i + 1 < csr_begin_.size().
  std::vector<uint32_t> csr_begin_;
  std::vector<FeatureRef> csr_refs_;
};

}  // namespace flywheel::model
