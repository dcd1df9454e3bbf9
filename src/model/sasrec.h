// Sasrec ("sasrec"): SASRec (Kang & McAuley 2018), a causal transformer over the user's recent
// positive items, on the nn/ kernels (doc/nn.md). Item embeddings E (one row per item index,
// grown on the fly) are shared by the input (row * sqrt(dim)) and the output layer: the score of
// item i after a sequence is h . E_i, h = the encoder's last hidden state.
//
// Losses (loss=...): softmax (full softmax cross-entropy over all item rows: small catalogues),
// sampled (sampled softmax over `negatives` items shared by the batch, drawn ~ popularity from a
// reservoir of past positives, with log-q correction and accidental hits removed), bce (binary
// cross-entropy with `negatives` uniform negatives per position).
//
// Fit(history): per-user sequences of positive-weight items in time order, cut into chunks of
// max_len + 1 items from the end (input = chunk[0..T-1], target = chunk[1..T]). Each user with at
// least 3 items gives their last item to a validation split (up to `valid_users` users); the
// rest trains with Adam in minibatches of `batch` sequences, split over `threads` threads (each
// with its own activations and gradients, summed in thread order). After every epoch the
// validation NDCG@10 (full ranking, seen items excluded) decides early stopping (`patience`
// epochs without improvement, at most `epochs`); the best weights are kept.
//
// Observe(event, user): a positive event grows the item table if needed, then takes one Adam
// step (single-threaded, rate online_lr; scratch_lr before any pre-training) on the user's
// latest sequence (user.recent() + the event, loss on the newest position only) together with
// `replay` sequences drawn from a reservoir of past latest sequences (Algorithm R, capacity
// `reservoir`). The step is Adam (continuing the pre-training moments) or plain SGD
// (online_optimizer), on every weight or on the item rows only (online_items_only).
//
// Content (content=1): an item's vector is its id row plus the weighted rows of its hashed
// content features (categories, tags, title tokens, decade, attributes: the two-tower feature
// hashing of twotower_features.h), each feature hashed to one of `feature_buckets` rows:
//   E_i = id_i + sum_f w_if F_{f mod buckets}
// E is used for the input and the output layer alike; gradients of E_i reach id_i and the F
// rows (times w_if), both with lazy Adam; E is kept materialised and refreshed for every item
// whose id row or one of whose feature rows moved. SetItemContent makes the item rankable before
// its first event (its vector is its features' plus a small random id row).
//
// Recommend: the encoder runs on the request's user_state (positive items, last max_len) in
// inference mode; exact top-k over all known items. The user's representation (the encoder's
// last hidden state) is cached per user (request.user, not kNoUser) with the sequence and the
// weights version it was computed from, and reused while both are unchanged: a user's next
// event (new sequence) or any applied step / content change (new version) recomputes it, so the
// cache never changes a result. At most kMaxCachedUsers entries (then it starts over). No history:
// popularity. Explain() returns the last block's attention (averaged over heads) from the newest
// position onto each recent item: which recent items the representation was built from.
//
// Randomness: every step seeds its generators from (seed, step counter, thread), so the model's
// random state is one counter (snapshots store it) and the same seed and thread count give
// bit-identical results; threads=1 is the single-threaded mode. Non-finite guard: a step whose
// gradients contain NaN or infinity is skipped and counted (skipped_non_finite()).
// Thread safety: see Recommender (one writer; concurrent const Recommend/Explain are safe).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/param_table.h"
#include "model/recommender.h"
#include "nn/adam.h"
#include "nn/encoder.h"

namespace flywheel::model {

enum class SasrecLoss { kSoftmax, kSampled, kBce };
enum class SasrecOptimizer { kAdam, kSgd };

struct SasrecOptions {
  // The transformer: dim, heads, blocks, max_len, dropout, gelu (defaults 64, 1, 2, 50, 0.2,
  // relu).
  nn::EncoderConfig encoder;
  SasrecLoss loss = SasrecLoss::kSoftmax;
  int negatives = 1;  // bce: per position; sampled: shared per batch
  float lr = 1e-3f;
  float l2 = 0.0f;
  float init_std = 0.05f;
  int batch = 128;
  int epochs = 100;  // Fit: at most
  int patience = 3;
  int valid_users = 1000;
  int max_chunks = 0;  // Fit: chunks per user, newest first (0 = all)
  int threads = 2;
  // Online Adam steps are single sequences, one per event: at the batch rate (1e-3) the ~65k
  // events after warm-up on ml-1m-partial moved the weights ~40x as far as all of pre-training
  // (~1.6k steps) and online HR@10 fell to a third of frozen's. 1e-5 keeps the online budget
  // below pre-training's.
  float online_lr = 1e-5f;
  int replay = 1;
  int reservoir = 2000;
  bool online_dropout = true;  // dropout during online steps (as in pre-training)
  bool online_all = false;     // online loss on every position of the sequences, not the newest
  // Online step rule: Adam (the pre-training moments continue) or plain SGD (step = online_lr *
  // gradient: a surprise moves the weights far, an event the model predicted hardly moves them).
  SasrecOptimizer online_optimizer = SasrecOptimizer::kAdam;
  // What online steps move: everything, or only the item rows (E, or the id and feature rows
  // with content); the shared encoder then stays as pre-trained.
  bool online_items_only = false;
  // Anchor: after each online step, the parameters it touched are pulled back towards the
  // pre-trained ones (captured at the first online step): p = a + (1 - online_anchor) (p - a).
  // Online learning then adapts to the recent stream (deviations fade over ~1 / online_anchor
  // steps) without drifting away from what pre-training learned. 0: off. Rows of items new since
  // the capture are not anchored. 1e-4 with online_lr 1e-5: chosen on the first half of the
  // ml-1m-partial replay (bench/results/sasrec.md), where it beat frozen and plain Adam steps.
  float online_anchor = 1e-4f;
  // Online learning rate while the model is not pre-trained (no Fit has trained it: a server
  // started on an empty store, or a replay whose warm-up prefix is too short to fit). online_lr
  // fine-tunes pre-trained weights and hardly moves random ones; this rate trains from scratch.
  // No anchor applies in this regime (there is nothing pre-trained to pull back to); the first
  // Fit that trains ends it. 0: online_lr always. 3e-3: chosen on the first half of the taobao
  // replay, where nothing can be fitted at warm-up (bench/results/sasrec.md).
  float scratch_lr = 3e-3f;
  bool content = false;        // id row + hashed content features (SetItemContent)
  int feature_buckets = 8192;  // rows of the hashed feature table
  uint64_t seed = 1;
};

// kInvalidArgument naming the bad field.
Status ValidateSasrecOptions(const SasrecOptions& options);
// The parameters of "sasrec" (model/param_table.h; doc/params.md).
const ParamTable<SasrecOptions>& SasrecParamTable();

class Sasrec final : public Recommender {
 public:
  static Result<std::unique_ptr<Sasrec>> Create(const SasrecOptions& options);
  ~Sasrec() override;

  std::string name() const override { return "sasrec"; }
  KeyValues params() const override;
  bool OnlineOnlyParam(std::string_view name) const override;
  Status Fit(std::span<const data::Interaction> history) override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  // Shown-and-ignored items (doc/models/sasrec.md, "Negatives from impressions"): a dedicated
  // online step (same rule, rate and anchor as Observe's) on the user's latest sequence whose
  // loss is sum_j w_j -log sigmoid(-h . E_j), h the representation the user is served from.
  // Nothing for a user without positive history.
  void ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                        std::span<const float> weights, TimestampMs now_ms,
                        const UserState& state) override;
  // Drops the user's cached representation and the user's sequences in the replay reservoir
  // (sequences restored from a version-1 or -2 snapshot carry no user and stay).
  void ForgetUser(UserIdx user) override;
  void SetItemContent(ItemIdx item, const Item& content) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  // Retrieval vectors: query (h, 1), item (E_i, 0), so <query, item> is the model's score.
  size_t retrieval_dim() const override { return static_cast<size_t>(options_.encoder.dim) + 1; }
  bool RetrievalQuery(const RecommendRequest& request, std::span<float> out) const override;
  bool RetrievalItem(ItemIdx item, std::span<float> out) const override;
  // Explain() of the request's user, normalised to sum to 1.
  std::vector<std::pair<ItemIdx, float>> RecentAttribution(
      const RecommendRequest& request) const override;
  size_t num_items() const override { return rows_; }
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;
  // Deltas (sasrec_delta.cc, format in its comment): the item rows (id rows with content) and
  // content feature rows the optimizer changed, the encoder when dense. Tracking starts at the
  // first export. With learning off, Observe only notes the item (known, counts).
  bool SupportsDeltas() const override { return true; }
  void SetLearning(bool on) override { learning_ = on; }
  Status ExportDelta(DeltaScope scope, base::ByteWriter* out, DeltaInfo* info) override;
  Result<std::unique_ptr<DecodedDelta>> DecodeDelta(base::ByteReader* in) const override;
  Status ApplyDecoded(const DecodedDelta& delta, std::vector<ItemIdx>* changed) override;

  // Recent items of `user` weighted by the attention of the newest position (sum over repeats),
  // best first. `item` must be known (the explanation does not depend on it otherwise: it is
  // what the user representation attended to). Empty when the user has no usable history.
  std::vector<std::pair<ItemIdx, float>> Explain(const UserState& user, ItemIdx item) const;

  // Fills scores (size num_items()) for a sequence (oldest first); unknown items -inf.
  void ScoreSequence(std::span<const ItemIdx> sequence, std::span<float> scores) const;
  // Sequences of `user` in the replay reservoir (ForgetUser leaves none).
  size_t ReplaySequencesOf(UserIdx user) const;
  // Serving-cache hits so far (Recommend calls that reused a cached representation).
  uint64_t cache_hits() const;

  const SasrecOptions& options() const { return options_; }
  uint64_t steps() const { return steps_; }
  uint64_t skipped_non_finite() const { return skipped_non_finite_; }
  // Fit's per-epoch validation NDCG@10 and the epoch kept.
  const std::vector<double>& valid_history() const { return valid_history_; }
  int best_epoch() const { return best_epoch_; }
  // A Fit has trained the weights (best_epoch >= 0; without a validation split the last epoch
  // run counts as the best). Until then online steps use scratch_lr and no anchor.
  bool pretrained() const { return best_epoch_ >= 0; }

  // One training example: loss on positions >= first_target (target of position t = items[t+1]).
  struct Example {
    std::vector<ItemIdx> items;
    int first_target = 0;
  };
  // One Adam step on `examples` with `threads` threads and learning rate `lr`; returns the mean
  // loss (NaN when the step was skipped by the non-finite guard). Exposed for the benchmarks.
  double TrainStep(std::span<const Example* const> examples, int threads, float lr);

 private:
  struct ThreadState;
  explicit Sasrec(const SasrecOptions& options);

  void GrowItems(ItemIdx item);
  void NoteItem(ItemIdx item);
  void MarkKnown(ItemIdx item);
  // The table Adam updates per item: the id rows (content) or E itself.
  std::vector<float>& IdRows() { return options_.content ? ids_ : items_; }
  // Content: Adam on the feature rows reached by the touched item rows' gradients, then E
  // refreshed for the affected items (sasrec_content.cc).
  void ContentStep(const nn::AdamOptions& adam, const ThreadState& main);  // sgd per step_rule_
  void RefreshRow(ItemIdx item);
  void RefreshAllRows();
  void LinkFeatures(ItemIdx item, bool link);
  void SaveContent(base::ByteWriter* w) const;
  Status LoadContent(base::ByteReader* r);
  // The parts of LoadState's payload, in order (sasrec_state.cc; doc/formats in its comment).
  Status LoadShape(base::ByteReader* r, uint32_t* version) const;
  Status LoadWeights(base::ByteReader* r);
  Status LoadReservoir(base::ByteReader* r);
  Status LoadVersionedTail(base::ByteReader* r, uint32_t version);
  // Forward + loss + backward of one slice on one thread state.
  double SliceLossAndGrads(std::span<const Example* const> slice, uint64_t stream,
                           const std::vector<ItemIdx>& shared_negatives, float scale,
                           ThreadState* ts) const;
  double OutputLoss(std::span<const Example* const> slice, base::Rng* rng,
                    const std::vector<ItemIdx>& shared_negatives, float scale,
                    ThreadState* ts) const;
  double SoftmaxLoss(float scale, ThreadState* ts) const;
  double SampledLoss(const std::vector<ItemIdx>& negatives, float scale, ThreadState* ts) const;
  double BceLoss(base::Rng* rng, float scale, ThreadState* ts) const;
  // ObserveNegatives' loss on the rows with a target (their targets are placeholders).
  double NegativeLoss(float scale, ThreadState* ts) const;
  // Observe's rate: scratch_lr before pre-training (when > 0), else online_lr.
  float OnlineLr() const;
  // One online step on `examples` under the online step rule (dropout, optimizer, anchor).
  void OnlineStep(std::span<const Example* const> examples, float lr);
  void AddTargetGradients(ThreadState* ts) const;
  // Sums the threads' gradients into thread 0's, applies Adam unless a value is non-finite,
  // clears the gradients; false when the step was skipped.
  bool ApplyGradients(float lr, int threads);
  void EncodeLast(std::span<const ItemIdx> sequence, nn::EncoderWorkspace* ws,
                  std::vector<float>* x) const;
  std::vector<ItemIdx> RecentSequence(const UserState& user) const;
  // The last block's attention from the newest position onto the user's recent items (summed
  // over repeats), best first.
  std::vector<std::pair<ItemIdx, float>> RecentAttention(const UserState& user) const;
  // Scores from a hidden state h (dim floats); unknown items -inf.
  void ScoreHidden(const float* h, std::span<float> scores) const;
  // The representation of `user` with `sequence`, from the cache or computed (and cached).
  void UserVector(UserIdx user, const std::vector<ItemIdx>& sequence, std::vector<float>* h) const;
  double ValidationNdcg(const std::vector<std::vector<ItemIdx>>& train_seqs,
                        const std::vector<std::pair<uint32_t, ItemIdx>>& valid) const;
  void RunEpochs(const std::vector<Example>& examples,
                 const std::vector<std::vector<ItemIdx>>& train,
                 const std::vector<std::pair<uint32_t, ItemIdx>>& valid);
  void Remember(UserIdx user, std::vector<ItemIdx> sequence);
  ItemIdx SampleKnown(base::Rng* rng) const;
  ItemIdx SamplePopular(base::Rng* rng) const;
  float LogQ(ItemIdx item) const;

  SasrecOptions options_;
  nn::SequenceEncoder encoder_;
  std::vector<float> enc_m_, enc_v_;
  size_t rows_ = 0;                             // item rows (= 1 + largest item index seen)
  std::vector<float> items_, item_m_, item_v_;  // E (and its moments when content is off)
  // Content state (empty when content is off): id rows (item_m_/item_v_ are their moments),
  // feature rows and moments, per item its (bucket, weight) list, per bucket its items.
  std::vector<float> ids_, feat_, feat_m_, feat_v_, feat_grad_;
  std::vector<std::vector<std::pair<uint32_t, float>>> item_feats_;
  std::vector<std::vector<ItemIdx>> feature_items_;
  std::vector<uint32_t> touched_feats_;
  std::vector<uint8_t> dirty_, feat_mark_;
  std::vector<uint8_t> known_;
  std::vector<float> counts_;
  std::vector<ItemIdx> known_list_;
  std::vector<ItemIdx> positives_;  // reservoir of past positive items (popularity sampling)
  uint64_t positives_seen_ = 0;
  double total_count_ = 0;
  std::vector<std::vector<ItemIdx>> reservoir_;
  std::vector<UserIdx> reservoir_users_;  // whose sequence each entry is (kNoUser: unknown)
  uint64_t reservoir_seen_ = 0;
  uint64_t steps_ = 0;    // Adam steps taken
  uint64_t streams_ = 0;  // random streams used (one per TrainStep / draw): the RNG state
  uint64_t skipped_non_finite_ = 0;
  // How TrainStep's step is taken: pre-training uses the defaults; Observe sets the online
  // options around its step.
  struct StepRule {
    bool dropout = true;
    bool sgd = false;
    bool items_only = false;
    float anchor = 0.0f;
  };
  // The online anchor's reference: encoder weights and item rows (IdRows) at the first online
  // step with online_anchor > 0 (empty until then); in snapshots.
  std::vector<float> anchor_enc_, anchor_items_;
  // Pulls the touched parameters towards the anchor (online steps with anchor > 0).
  void PullToAnchor(std::span<const uint32_t> rows);
  StepRule step_rule_;
  // Set during an ObserveNegatives step: the ignored items and their weights replace the loss.
  const std::vector<std::pair<ItemIdx, float>>* negative_targets_ = nullptr;
  std::vector<double> valid_history_;
  int best_epoch_ = -1;
  std::vector<std::unique_ptr<ThreadState>> threads_;
  uint64_t version_ = 0;  // bumped by every change of the weights or item rows

  // Delta replication (sasrec_delta.cc). Rows and feature buckets changed since the last
  // export; delta_all_: the next export is full (fresh, loaded or fitted model).
  void MarkDeltaStep(std::span<const uint32_t> rows, bool encoder);
  void ClearDeltaMarks();
  bool learning_ = true;
  bool delta_tracking_ = false;  // set by the first export
  bool delta_all_ = true;
  bool delta_encoder_ = false;
  std::vector<uint8_t> delta_row_mark_, delta_feat_mark_;
  std::vector<uint32_t> delta_rows_, delta_feats_;

  struct CachedUser {
    std::vector<ItemIdx> sequence;
    uint64_t version = 0;
    std::vector<float> h;
  };
  static constexpr size_t kMaxCachedUsers = 1 << 16;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<UserIdx, CachedUser> cache_;  // GUARDED_BY(cache_mu_)
  mutable uint64_t cache_hits_ = 0;                        // GUARDED_BY(cache_mu_)
};

}  // namespace flywheel::model
