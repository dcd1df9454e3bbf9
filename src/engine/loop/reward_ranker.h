// RewardRanker: the reward-trained re-ranker of the serving candidates (doc/loop.md, section 6,
// policy "reward"). A logistic model of P(reward > 0 | features) learned online, in log order,
// from closed impressions with importance weights min(1 / propensity, weight_cap) (propensity
// unknown: 1) times discount^position. Features of one (user, item, list):
//
//   score      the serving model's score standardised within the list (z-score); at learning
//              time the model's current score of the shown items (vector models: the inner
//              product of RetrievalQuery and RetrievalItem; other models: minus the position)
//   position   log2(1 + position) when learning; 0 when serving (the ranker predicts the reward
//              of an item as if shown first: position-debiased)
//   age        log(1 + item age in hours) at the list's time (created, else first seen)
//   popularity log(1 + the item's interaction count in the catalogue)
//   user rate  the user's recent reward rate: clicked / shown items, decayed with event time
//              (half-life user_half_life_ms), smoothed towards the global rate
//   hashed     item id; item category; hour-of-day bucket x category; each user attribute
//              (key=value) x category: one weight per hash bucket (2^hash_bits)
//
// The weight of `score` starts at 1 and every other at 0, so a fresh ranker keeps the model's
// order. AdaGrad with L2; deterministic (no randomness; updates in the order given).
//
// Threads: Learn/OnClosed/ForgetUser/Load write (the learner, state lock held exclusively);
// Rerank/Predict/Save read (requests and snapshots, state lock shared).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "flywheel/loop_options.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

#include "base/serial.h"
#include "engine/learn/catalog.h"
#include "engine/loop/closed_impression.h"
#include "engine/serve/policy.h"
#include "engine/serve/request.h"
#include "model/recommender.h"
#include "model/user_state.h"

namespace flywheel::engine {

struct RewardRankerOptions {
  double weight_cap = 20.0;  // loop.weight_cap: importance weights are capped here
  double discount = 1.0;     // loop.discount: the example at position p weighs discount^p
  uint32_t horizon = 0;      // loop.horizon: learn from the first `horizon` positions (0: all)
  double learning_rate = 0.05;
  double l2 = 1e-6;
  uint32_t hash_bits = 14;
  int64_t user_half_life_ms = 7LL * 24 * 3600 * 1000;
};
// kInvalidArgument naming the field (loop.weight_cap, loop.discount).
Status ValidateRewardRankerOptions(const RewardRankerOptions& options);
// weight_cap, discount and horizon of EngineOptions::loop; the rest default.
RewardRankerOptions RewardRankerOptionsFrom(const LoopOptions& loop);

// The dense features (see above) and the hashed buckets of one (user, item, list) example.
inline constexpr size_t kRewardDense = 6;  // bias, score, position, age, popularity, user rate
struct RewardFeatures {
  std::array<float, kRewardDense> dense{};
  std::vector<uint32_t> buckets;  // indices into the hashed table
};

class RewardRanker : public ImpressionListener, public CandidateReranker {
 public:
  explicit RewardRanker(RewardRankerOptions options = {});

  // What learning reads of the learned state for one closed impression (caller holds the state
  // lock exclusively). `model` may be null (no model score: minus the position).
  struct View {
    const Catalog* catalog = nullptr;
    const model::Recommender* model = nullptr;
    const model::UserState* state = nullptr;  // the user's state now; may be null
  };

  // Learns from one closed impression: one weighted logistic step per slot (within the horizon,
  // item known). Also updates the user's recent reward rate.
  void Learn(const View& view, const ClosedImpression& closed);

  // Serving (policy "reward"): re-orders `items` (the scored candidates, best first by the
  // model: ServeItem::score) by predicted reward, best first; ties keep the model's order. Sets
  // each item's `score` to the predicted P(reward > 0). Reads the catalogue for item features.
  void Rerank(const Catalog& catalog, const ServeRequest& request,
              std::vector<ServeItem>* items) const;
  // CandidateReranker (serve/policy.h): the same, for the policy stage.
  void Rerank(const ServeContext& ctx, const ServeRequest& request,
              std::vector<ServeItem>* items) const override;

  // The features of `item` for `user` (attributes: the user's, may be null) with score feature
  // `z` and position feature `position` (log2(1 + position); 0 when serving) at `now_ms`.
  RewardFeatures Features(const Catalog& catalog, UserIdx user, const KeyValues* attributes,
                          ItemIdx item, float z, float position, TimestampMs now_ms) const;
  // P(reward > 0) for given features.
  double Predict(const RewardFeatures& features) const;
  // One weighted logistic step (label: reward > 0). Learn() calls it for each slot.
  void Update(const RewardFeatures& features, bool label, double weight);
  // The importance weight of a slot: min(1/propensity, cap) (NaN or <= 0: 1) x discount^pos.
  double ExampleWeight(double propensity, uint32_t position) const;

  // ImpressionListener: Learn() with the view set by SetView (the learner's registration).
  void OnClosed(const ClosedImpression& closed) override;
  // Where OnClosed reads the learned state (catalog, model chosen by the closed list's model
  // name, user states); set once by the owner.
  struct Source {
    const Catalog* catalog = nullptr;
    const std::vector<std::unique_ptr<model::Recommender>>* models = nullptr;
    const std::vector<std::string>* model_names = nullptr;  // parallel to models
    const model::UserStateStore* users = nullptr;
  };
  void SetSource(const Source& source) { source_ = source; }

  // Back to a fresh ranker (recovery's reset).
  void Reset();
  // Drops the user's recent reward rate (forget).
  void ForgetUser(UserIdx user) { users_.erase(user); }

  // Snapshot state (section `loop_reward`): options fingerprint, weights, AdaGrad sums, user
  // rates. Load into a ranker with the same options gives the same predictions.
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);

  uint64_t updates() const { return updates_; }
  const RewardRankerOptions& options() const { return options_; }
  // The user's smoothed recent reward rate at `now_ms`.
  double UserRate(UserIdx user, TimestampMs now_ms) const;

 private:
  struct RateEntry {
    double shown = 0;   // decayed item count
    double reward = 0;  // decayed clicked count
    TimestampMs at = 0;
  };

  RewardRankerOptions options_;
  std::array<double, kRewardDense> w_{};
  std::array<double, kRewardDense> g2_{};
  std::vector<float> hashed_;     // 2^hash_bits weights
  std::vector<float> hashed_g2_;  // AdaGrad sums
  std::unordered_map<UserIdx, RateEntry> users_;
  double global_shown_ = 0;
  double global_reward_ = 0;
  uint64_t updates_ = 0;
  Source source_;
};

}  // namespace flywheel::engine
