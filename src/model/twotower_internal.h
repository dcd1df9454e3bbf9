// Internal helpers of the twotower model (model/twotower.cc): the per-thread Worker scratch, the
// pooling of a user's history, the blocked GEMV used for scoring and the math of one training
// step (twotower_step.cc). Not part of the model's interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/random.h"
#include "embedding/embedding_table.h"
#include "model/twotower.h"
#include "model/user_state.h"

namespace flywheel::model {

// Scratch of one training thread; the writer's Worker holds the model's Rng.
struct TwoTower::Worker {
  explicit Worker(uint64_t seed) : rng(seed) {}
  base::Rng rng;
  std::vector<HistoryEntry> pooled;  // history of the event being learned
  std::vector<HistoryEntry> hist;    // history of a replayed event
  std::vector<float> alpha;          // normalised pooling weights of the step's history
  std::vector<uint64_t> item_ids;    // the step's candidates, then its history items
  std::vector<float> item_rows;      // dim + 1 floats per item_ids entry
  std::vector<uint32_t> feat_begin;  // features of item_ids[n]: [feat_begin[n], feat_begin[n+1])
  std::vector<uint64_t> feat_ids;
  std::vector<float> feat_weights, feat_rows;
  std::vector<float> vecs;  // v of each item_ids entry (dim floats each)
  std::vector<float> user_row, query, gq, logits, coef;
  std::vector<float> logq;  // sampling correction subtracted from each candidate's logit
  std::vector<uint64_t> g_item_ids, g_feat_ids;  // merged gradients to apply
  std::vector<float> g_item, g_feat, g_user;
  std::vector<int32_t> item_slots, feat_slots;  // id -> position in g_*_ids, -1 between steps
};

namespace internal {

inline constexpr size_t kPanel = 8;

// The last `limit` positive entries of `recent` (oldest first) whose item is known and is not
// `exclude`, most recent first, into *out.
template <typename Container>
void CollectHistory(const Container& recent, ItemIdx exclude, int limit,
                    const std::vector<uint8_t>& known, std::vector<HistoryEntry>* out) {
  out->clear();
  const auto max = static_cast<size_t>(limit);
  for (auto it = recent.rbegin(); it != recent.rend() && out->size() < max; ++it) {
    if (it->weight > 0 && it->item != exclude && it->item < known.size() && known[it->item] != 0) {
      out->push_back(*it);
    }
  }
}

// alpha_j = weight_j * 2^(-(t_last - t_j) / half_life) * decay^j (history most recent first, j
// its position), normalised to sum 1.
void PoolingWeights(std::span<const HistoryEntry> history, float half_life_hours, float decay,
                    std::vector<float>* alpha);

// out[i] = (bias ? bias[i] : 0) + sum_k query[k] * row_i[k] for i < n over rows in panels of
// kPanel (see twotower.h). REQUIRES: out (and bias) hold n rounded up to kPanel floats.
void BlockedGemv(const float* panels, const float* bias, const float* query, size_t dim, size_t n,
                 float* out);

struct StepRows {
  embedding::EmbeddingTable* users;
  embedding::EmbeddingTable* items;
  embedding::EmbeddingTable* features;
  const std::vector<std::vector<TwoTower::FeatureRef>>* item_features;
  size_t dim;
};

// Loads the user's and items' rows and features, computes each item's v and the query
// q = p_u + sum_j alpha_j v_j over the history items (after the first `candidates` entries).
void LoadVectors(const StepRows& rows, UserIdx user, size_t candidates, TwoTower::Worker* w);
// dLoss/dx_c for the candidates into w->coef.
void Coefficients(bool positive, TwoTowerLoss loss, size_t candidates, TwoTower::Worker* w);
// dLoss/dx_c of sum_c weights[c] * -log sigmoid(-x_c) (ObserveNegatives) into w->coef.
void NegativeCoefficients(std::span<const float> weights, TwoTower::Worker* w);
// Merged gradients of the user row, item rows (candidates and history) and feature rows.
void Gradients(const StepRows& rows, size_t candidates, float l2, TwoTower::Worker* w);

}  // namespace internal
}  // namespace flywheel::model
