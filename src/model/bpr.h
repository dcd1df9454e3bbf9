// Bpr ("bpr"): online matrix factorization. An item i has an output vector q_i of `dim` floats
// and a bias b_i; the user side is a query vector
//
//   z_u = p_u + mean_{c in C_u} e_c
//
// where p_u is the user's own factor row (`user_rows`=1) and C_u the user's last `context`
// positive items before the event, each with an input ("context") vector e_c (`context`=0: plain
// MF, z_u = p_u). Rows live in embedding::EmbeddingTable (ids = UserIdx / ItemIdx; the item bias
// is the item row's last column, so every parameter goes through the table's sparse optimizer
// and non-finite guard). The context part lets a user with few or no updates of their own row
// (new users, fresh sessions) be scored from what they just did, with vectors trained for that.
//
//   loss=bpr (default, implicit feedback). Score x_ui = z_u . q_i + b_i. A positive event
//     (weight > 0) takes one SGD step on mean_j -log sigmoid(x_ui - x'_uj) over `negatives`
//     sampled items j, with L2 `l2` on the touched rows (p_u, the e_c, q_i, q_j):
//       sampling=uniform     j uniform over known items;
//       sampling=popularity  j drawn from the replay reservoir (a uniform sample of past
//                            positives, hence ~ proportional to counts) with log-q correction
//                            x'_uj = x_uj - log(q_j * n), q_j = count_j / total, n = known
//                            items (the correction is relative to uniform sampling: 0 there);
//       sampling=recent      j uniform over a ring of the last `recent_window` positives.
//     A sampled j equal to i or already seen by the user is redrawn up to 3 times. A
//     negative-weight event (skip, dislike) takes one step on -log sigmoid(-x_ui).
//   loss=mse (explicit ratings). Prediction r_ui = mu + b_u + b_i + p_u . q_i (no context),
//     mu = running mean of the ratings (event.value) seen; one SGD step on (r_ui - r)^2 / 2.
//
// Online: every positive Observe also replays `replay` events drawn from a reservoir (Algorithm
// R, capacity `reservoir`) of past positives with their contexts, against forgetting. Learning
// rate per step: lr / sqrt(1 + lr_decay * steps). Fit(history) runs `epochs` seeded shuffled
// passes through the same step code (no replay inside Fit; each event with the context it had
// in time order), after recording the history's statistics once in time order. With
// `threads`=1 (default) everything is single-threaded and deterministic for a given seed;
// `threads` > 1 runs Fit's passes Hogwild-style (bpr_parallel.cc): each thread takes a shard
// of the shuffled events with its own Rng and scratch, updates go to the shared tables (row
// updates serialised by the tables' locks, but steps interleave, so results vary run to run),
// and the scoring mirror is rebuilt once at the end.
//
// Scoring: exact over all known items (num_items() = 1 + the largest item index observed; items
// in that prefix never observed are not returned). Item factors are mirrored in a dense blocked
// layout (panels of 8 items: q_i[k] at panel[(i / 8) * 8 * dim + k * 8 + i % 8]) refreshed from
// the table after every item update, so Recommend is one GEMV whose inner loop is 8 independent
// lanes (vectorised by -O2 without reassociating sums). The query is z_u from the user's row (if
// any) and the recent positive items in request.user_state; with `context`=0 a user without a
// row is scored with the mean q of their last 50 positive items; with nothing at all, by
// popularity. Non-finite scores (overflow after a diverging learning rate) are clamped.
//
// Thread safety: see Recommender (one writer; concurrent const Recommend calls are safe).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/random.h"
#include "embedding/embedding_table.h"
#include "model/param_table.h"
#include "model/recommender.h"

namespace flywheel::model {

inline constexpr int kBprMaxContext = 10;

enum class BprSampling { kUniform, kPopularity, kRecent };
enum class BprLoss { kBpr, kMse };

struct BprOptions {
  uint32_t dim = 32;
  embedding::OptimizerKind optimizer = embedding::OptimizerKind::kAdagrad;
  float lr = 0.1f;
  float l2 = 1e-4f;
  float lr_decay = 0.0f;  // lr_t = lr / sqrt(1 + lr_decay * t), t = steps taken so far
  float init_std = 0.1f;  // new rows ~ normal(0, init_std)
  float clip = 0.0f;      // > 0: gradient L2-norm clipping in the optimizer
  int negatives = 4;
  BprSampling sampling = BprSampling::kUniform;
  int recent_window = 10000;  // sampling=recent: ring of the last positives
  int replay = 1;             // replayed past events per positive Observe
  int reservoir = 100000;     // replay reservoir capacity
  int epochs = 5;             // Fit passes
  int context = 5;            // recent positive items in the query (<= kBprMaxContext); 0: none
  bool user_rows = true;      // p_u in the query
  int threads = 1;            // Fit threads: > 1 Hogwild-style (not deterministic)
  uint64_t seed = 1;
  BprLoss loss = BprLoss::kBpr;
};

// kInvalidArgument naming the bad field.
Status ValidateBprOptions(const BprOptions& options);
// The parameters of "bpr" (model/param_table.h; doc/params.md).
const ParamTable<BprOptions>& BprParamTable();

class Bpr final : public Recommender {
 public:
  static Result<std::unique_ptr<Bpr>> Create(const BprOptions& options);

  std::string name() const override { return "bpr"; }
  KeyValues params() const override;
  Status Fit(std::span<const data::Interaction> history) override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  // Shown-and-ignored items (doc/models/bpr.md, "Negatives from impressions"): one SGD step on
  // sum_j w_j -log sigmoid(x_ui(j) - x_uj), i(j) the user's recent positives in turn (pointwise
  // w_j -log sigmoid(-x_uj) for a user without positives); loss=mse ignores negatives.
  void ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                        std::span<const float> weights, TimestampMs now_ms,
                        const UserState& state) override;
  // Drops p_u and the user's events in the replay reservoir.
  void ForgetUser(UserIdx user) override;
  size_t retrieval_dim() const override { return options_.dim + 1; }
  bool RetrievalQuery(const RecommendRequest& request, std::span<float> out) const override;
  bool RetrievalItem(ItemIdx item, std::span<float> out) const override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override { return known_.size(); }
  // Snapshot (doc/formats/bpr_state.md): tables, statistics, reservoir, counters and the Rng;
  // the scoring mirror is rebuilt on load. LoadState accepts only a snapshot of a model with the
  // same params() and returns kCorruption (checksum, version, length, consistency) otherwise.
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

  // p_u . q_i + b_i: x_ui with the user row only, without the context part of z_u (rows the
  // tables do not hold count as zeros).
  float Score(UserIdx user, ItemIdx item) const;
  // mu + b_u + b_i + p_u . q_i: the rating prediction of loss=mse.
  float RatingOf(UserIdx user, ItemIdx item) const;
  // RatingOf() with loss=mse; nullopt with the BPR loss (its scores are not ratings).
  std::optional<float> PredictRating(UserIdx user, ItemIdx item) const override;
  // Fills `scores` (size num_items()) with the raw scores Recommend ranks (unknown items -inf).
  void ScoreAll(const RecommendRequest& request, std::span<float> scores) const;

  // Copy of the row (dim + 1 floats, bias last) or empty if the table has none.
  std::vector<float> UserRow(UserIdx user) const;
  std::vector<float> ItemRow(ItemIdx item) const;

  // Rows and memory (EmbeddingTable::bytes_per_row: weights, optimizer state, id, last-seen,
  // index share) of the three tables, and the bytes of the per-item arrays (mirror, counts).
  struct Memory {
    size_t user_rows = 0, item_rows = 0, context_rows = 0;
    size_t user_row_bytes = 0, item_row_bytes = 0, context_row_bytes = 0;
    size_t tables_allocated = 0;  // EmbeddingTable::memory_bytes(), reserved slabs included
    size_t per_item_arrays = 0;   // mirror panels, biases, known flags, counts
    size_t reservoir_bytes = 0;
  };
  Memory memory() const;

  const BprOptions& options() const { return options_; }
  uint64_t steps() const { return worker_.steps; }
  // Updates dropped by the tables' non-finite guards.
  uint64_t skipped_non_finite() const;

 private:
  // The user's last positive items before an event (most recent first).
  struct Context {
    uint32_t size = 0;
    ItemIdx items[kBprMaxContext] = {};
  };
  struct Replayed {
    UserIdx user = 0;
    ItemIdx item = 0;
    float value = 0.0f;
    Context context;
  };

  static constexpr size_t kPanel = 8;  // items per block of the scoring mirror

  // What one training thread owns: its Rng, step count and scratch. The writer's is worker_;
  // Hogwild Fit threads have their own.
  struct Worker {
    Worker(uint64_t seed, size_t dim)
        : rng(seed), user_row(dim + 1), user_grad(dim + 1), query(dim) {}
    base::Rng rng;
    uint64_t steps = 0;      // steps taken by this worker
    uint64_t step_base = 0;  // learning-rate schedule: t = step_base + stride * steps
    uint64_t stride = 1;
    bool mirror = true;  // refresh the scoring mirror after item updates
    std::vector<float> user_row, item_rows, user_grad, item_grads, query, ctx_rows, ctx_grads;
    std::vector<uint64_t> item_ids, ctx_ids;
  };

  Bpr(const BprOptions& options, std::unique_ptr<embedding::EmbeddingTable> users,
      std::unique_ptr<embedding::EmbeddingTable> items,
      std::unique_ptr<embedding::EmbeddingTable> contexts);

  size_t row_floats() const { return options_.dim + 1; }
  void GrowItems(ItemIdx item);
  // The user's last `context` positive items in `user` (before the event), most recent first.
  Context ContextOf(const UserState* user) const;
  // Records a positive event's statistics: counts, mean, recent ring, reservoir.
  // Whether `event` trains as a positive: weight > 0, or (loss=mse) any explicit rating, low
  // ones included (the regression needs them; a low rating's weight is negative).
  bool LearnsAsPositive(const data::Interaction& event) const;
  void Remember(const data::Interaction& event, const Context& context);
  // Observe's and Fit's common path: the steps one event triggers (`replay` replays after a
  // positive one).
  void Train(Worker& w, const data::Interaction& event, const Context& context,
             const UserState* user, int replay);
  void BprStep(Worker& w, const Replayed& event, const UserState* user, TimestampMs now);
  void DislikeStep(Worker& w, const data::Interaction& event, const Context& context);
  // ObserveNegatives' gradients into w.user_grad / w.item_grads (w.item_ids: the `positives`
  // first, then the negatives with `weights`); rows and query loaded.
  void NegativeGrads(Worker& w, size_t positives, std::span<const float> weights);
  // Fills w.query = z_u (dim floats) from w.user_row and w.ctx_rows after reading them.
  void LoadQuery(Worker& w, UserIdx user, const Context& context);
  // Applies dL/dz_u (dim floats) to p_u and the context rows, with L2.
  void ApplyQueryGrad(Worker& w, UserIdx user, const Context& context, float lr, TimestampMs now);
  // Fills w.user_row, w.item_rows (one item) and w.item_ids, sizes w.item_grads for one item.
  void LoadPair(Worker& w, UserIdx user, ItemIdx item);
  // mu + b_u + b_i + p_u . q_i from two rows (dim + 1 floats, bias last).
  float RatingFromRows(const float* pu, const float* qi) const;
  void MseStep(Worker& w, const Replayed& event, TimestampMs now);
  ItemIdx SampleNegative(Worker& w, ItemIdx positive, const UserState* user);
  ItemIdx DrawCandidate(Worker& w);
  float LogQCorrection(ItemIdx item) const;
  float NextLr(Worker& w) const;
  // Applies the items' gradients and refreshes the item mirror.
  void ApplyItems(Worker& w, std::span<const uint64_t> item_ids, std::span<const float> item_grads,
                  float lr, TimestampMs now);
  void RefreshMirror(std::span<const uint64_t> item_ids);
  // Copies rows (dim + 1 floats each, bias last) of item_ids into the scoring mirror.
  void MirrorRows(std::span<const uint64_t> item_ids, std::span<const float> rows);
  // Query vector of the request's user (dim floats); false when popularity must be used.
  bool QueryVector(const RecommendRequest& request, std::span<float> query) const;
  // Adds mean_c e_c over the request's context to `query`; false if the context is empty.
  bool AddContext(const UserState& state, std::span<float> query) const;
  bool ColdQuery(const UserState& state, std::span<float> query) const;

  void Shuffle(std::vector<size_t>& order);
  // Fit's passes over `threads` threads (bpr_parallel.cc).
  void HogwildPasses(std::span<const data::Interaction> history, std::span<const Context> contexts,
                     const UserStateStore& users);

  // LoadState parts (bpr_state.cc).
  Status ReadHeader(base::ByteReader* r) const;
  Status ReadStatistics(base::ByteReader* r);
  Status CheckStatistics() const;
  Status ReadTables(base::ByteReader* r);
  void RebuildMirror();

  BprOptions options_;
  std::unique_ptr<embedding::EmbeddingTable> users_;
  std::unique_ptr<embedding::EmbeddingTable> items_;
  std::unique_ptr<embedding::EmbeddingTable> contexts_;  // e_c (dim floats), used if context > 0
  std::vector<float> panels_;     // blocked item factors (see the header comment)
  std::vector<float> item_bias_;  // b_i, padded to a multiple of 8
  std::vector<uint8_t> known_;    // 1 if the item was observed
  std::vector<float> counts_;     // positive events per item
  double total_count_ = 0;
  size_t num_known_ = 0;
  double rating_sum_ = 0;
  std::vector<ItemIdx> recent_;  // ring of recent positive items
  size_t recent_next_ = 0;
  std::vector<Replayed> reservoir_;
  uint64_t positives_seen_ = 0;  // for Algorithm R
  Worker worker_;                // the writer's Rng, step count and scratch
};

}  // namespace flywheel::model
