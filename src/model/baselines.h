// The baselines every result is reported beside (../shared/guides/evaluation.md rule 6).
//
//  MostPop    ("pop")        items ranked by the number of positive interactions so far.
//  RecentPop  ("recentpop")  items ranked by exponentially time-decayed interaction weight:
//                            score_i(t) = sum_e w_e * 2^(-(t - t_e) / half_life). Kept in O(1)
//                            per event with forward decay (scores stored relative to a landmark
//                            time, rescaled when they would overflow).
//  ItemKNN    ("itemknn")    incremental item-item co-occurrence: when a user interacts with an
//                            item for the first time, it co-occurs with the user's previous
//                            `window` distinct positive items of the recent history.
//                            Similarity is cosine on the binary user-item matrix,
//                            sim(i,j) = c_ij / sqrt(n_i n_j). A user's score for item i is the
//                            sum over their `history` most recent distinct items j of
//                            decay^age(j) * sim(j, i); ties and users without history fall back
//                            to popularity (a 1e-9 * n_i tie-breaker).
// Only events with positive type weight count as interactions (skips and dislikes do not).
// Thread safety: see Recommender.
#pragma once

#include <cstdint>
#include <vector>

#include "model/param_table.h"
#include "model/recommender.h"
#include "model/sparse_row.h"

namespace flywheel::model {

class MostPop final : public Recommender {
 public:
  std::string name() const override { return "pop"; }
  bool personalised() const override { return false; }
  KeyValues params() const override { return {}; }
  void Observe(const data::Interaction& event, const UserState& user) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override { return counts_.size(); }
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

 private:
  std::vector<float> counts_;
};

struct RecentPopOptions {
  double half_life_hours = 24.0;
};
// The parameters of "recentpop" (model/param_table.h).
const ParamTable<RecentPopOptions>& RecentPopParamTable();

class RecentPop final : public Recommender {
 public:
  explicit RecentPop(RecentPopOptions options);
  std::string name() const override { return "recentpop"; }
  bool personalised() const override { return false; }
  KeyValues params() const override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override { return scores_.size(); }
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

 private:
  void Rebase(TimestampMs new_landmark);

  RecentPopOptions options_;
  double inv_tau_ms_;                    // ln 2 / half-life in ms
  TimestampMs landmark_ms_ = INT64_MIN;  // set by the first event
  std::vector<double> scores_;           // score_i * exp((t - landmark)/tau) at any t
};

struct ItemKnnOptions {
  int window = 50;     // previous distinct items a new interaction co-occurs with
  int history = 20;    // most recent distinct items used to score
  double decay = 0.9;  // weight of the a-th most recent history item: decay^a
};
// The parameters of "itemknn" (model/param_table.h).
const ParamTable<ItemKnnOptions>& ItemKnnParamTable();

class ItemKnn final : public Recommender {
 public:
  explicit ItemKnn(ItemKnnOptions options) : options_(options) {}
  std::string name() const override { return "itemknn"; }
  KeyValues params() const override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override { return counts_.size(); }
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

  // Cosine similarity of two items (0 when they never co-occurred). For tests and explanations.
  float Similarity(ItemIdx a, ItemIdx b) const;

 private:
  void EnsureItem(ItemIdx item);

  ItemKnnOptions options_;
  std::vector<SparseRow> cooc_;    // cooc_[i][j] = c_ij
  std::vector<float> counts_;      // n_i: users who interacted with i
  std::vector<float> inv_sqrt_n_;  // 1 / sqrt(n_i), 0 when n_i == 0
  std::vector<ItemIdx> partners_scratch_;
};

}  // namespace flywheel::model
