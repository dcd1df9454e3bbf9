// ImpressionLearner: learning from what was shown (doc/loop.md, section 5). An
// ImpressionListener: each closed impression's shown-and-ignored items (no attributed event at
// all) become weighted negatives for every model of the learned state
// (Recommender::ObserveNegatives; models without negatives ignore them), with weight
//
//   loop.negative_weight x examination(position)
//
// and the examination probabilities are estimated online (position-based model, "pbm"):
//
//   theta_p = rate_p / rate_0,  rate_p = (clicks_p + m * prior_p * rho) / (shown_p + m)
//
// over the explored slots only (propensity known and < 0.5: an item the policy placed at random,
// so its relevance does not depend on the slot; exact for epsilon-greedy, whose pool items,
// propensity E/pool, fall into the replaced slots uniformly; its greedy items, 1-E, and greedy
// lists do not count; for score-ordered samplers such as boltzmann a residual relevance
// gradient over the slots makes the estimate somewhat steeper than the truth), prior_p = 1 / log2(p
// + 2), m = prior_strength pseudo-shows, rho = sum clicks / (1 + sum shown_p * prior_p) (the
// position-0 click rate the data implies under the prior), theta clamped to [min_examination, 1]
// and theta_0 = 1. Without exploration the estimate stays at the prior. Positions >= kMaxPositions
// share the last estimate.
//
// Position-bias modes (loop.position_bias):
//   pbm      weight = negative_weight x theta_p;
//   cascade  the user scans from the top: items above the last click were examined (weight =
//            negative_weight), items below it were not (weight 0); a list without a click:
//            negative_weight x theta_p (the pbm estimate of how far the user read);
//   none     weight = negative_weight for every ignored item.
// loop.learn_from_impressions=false: the estimates are still kept, no model is called.
//
// Deterministic (log order, no randomness). Threads: OnClosed/Reset/Load on the learner (state
// lock held exclusively); the accessors and Save under the lock shared.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flywheel/loop_options.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

#include "base/serial.h"
#include "engine/loop/closed_impression.h"
#include "model/recommender.h"
#include "model/user_state.h"

namespace flywheel::engine {

enum class PositionBias { kPbm, kCascade, kNone };

struct ImpressionLearnerOptions {
  bool enabled = true;           // loop.learn_from_impressions
  double negative_weight = 0.5;  // loop.negative_weight, in [0, 1]
  PositionBias position_bias = PositionBias::kPbm;
  double prior_strength = 100;    // m: pseudo-shows per position of the prior
  double min_examination = 0.02;  // theta floor
};
// From EngineOptions::loop (kInvalidArgument naming loop.position_bias / loop.negative_weight).
Result<ImpressionLearnerOptions> ImpressionLearnerOptionsFrom(const LoopOptions& loop);
// Checks what sections 5 and 6 of doc/loop.md read of EngineOptions::loop (negative_weight,
// position_bias, weight_cap, discount); Engine::Open's loop check calls it.
Status ValidateLoopLearning(const LoopOptions& loop);

class ImpressionLearner : public ImpressionListener {
 public:
  static constexpr uint32_t kMaxPositions = 32;

  explicit ImpressionLearner(ImpressionLearnerOptions options = {});

  // Where OnClosed finds the models and the users' states (members of the learned state); set
  // once by the owner. Null models: estimates only.
  void SetSource(const std::vector<std::unique_ptr<model::Recommender>>* models,
                 const model::UserStateStore* users) {
    models_ = models;
    users_ = users;
  }

  // Negatives of `closed` with the estimates before it, then its clicks into the estimates.
  void OnClosed(const ClosedImpression& closed) override;

  // The ignored items of `closed` and their weights (weight 0 left out), by the current
  // estimates and the configured mode.
  void Negatives(const ClosedImpression& closed, std::vector<ItemIdx>* items,
                 std::vector<float>* weights) const;
  // Adds the explored slots of `closed` to the per-position counts.
  void CountClicks(const ClosedImpression& closed);
  // theta_p (1 at position 0).
  double Examination(uint32_t position) const;

  // The items whose vectors negatives moved since the last call (the owner marks them for the
  // ANN index); cleared by the call.
  std::vector<ItemIdx> TakeMoved() { return std::exchange(moved_, {}); }

  void Reset();
  // Section `loop_learner`: the per-position counts and the counters below.
  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);

  struct Counters {
    uint64_t lists = 0;           // closed impressions seen
    uint64_t explored_slots = 0;  // slots that fed the estimates
    uint64_t negatives = 0;       // (item, weight) pairs handed to the models
    double negative_weight = 0;   // their summed weights
  };
  const Counters& counters() const { return counters_; }
  const ImpressionLearnerOptions& options() const { return options_; }

 private:
  ImpressionLearnerOptions options_;
  std::array<double, kMaxPositions> shown_{};
  std::array<double, kMaxPositions> clicks_{};
  Counters counters_;
  std::vector<ItemIdx> moved_;  // see TakeMoved
  const std::vector<std::unique_ptr<model::Recommender>>* models_ = nullptr;
  const model::UserStateStore* users_ = nullptr;
};

}  // namespace flywheel::engine
