// The math of one twotower training step and the scoring kernel (see twotower.h).
#include <algorithm>
#include <cmath>

#include "base/dot.h"
#include "model/twotower_internal.h"

namespace flywheel::model::internal {
namespace {

float Sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

using base::Dot;

// The gradient row of `id` in (ids, grads) of n floats each, appended as zeros if absent;
// (*slots)[id] is its position in ids or -1 (ids are dense indices). The pointer is valid until
// the next call.
float* MergedRow(uint64_t id, size_t n, std::vector<int32_t>* slots, std::vector<uint64_t>* ids,
                 std::vector<float>* grads) {
  if (id >= slots->size()) {
    slots->resize(id + 1, -1);
  }
  int32_t& slot = (*slots)[id];
  if (slot < 0) {
    slot = static_cast<int32_t>(ids->size());
    ids->push_back(id);
    grads->resize(grads->size() + n, 0.0f);
  }
  return grads->data() + static_cast<size_t>(slot) * n;
}

void ResetSlots(std::span<const uint64_t> ids, std::vector<int32_t>* slots) {
  for (uint64_t id : ids) {
    (*slots)[id] = -1;
  }
}

}  // namespace

void PoolingWeights(std::span<const HistoryEntry> history, float half_life_hours, float decay,
                    std::vector<float>* alpha) {
  alpha->clear();
  if (history.empty()) {
    return;
  }
  TimestampMs last = history.front().ts_ms;
  for (const HistoryEntry& entry : history) {
    last = std::max(last, entry.ts_ms);
  }
  const double half_life_ms = static_cast<double>(half_life_hours) * 3.6e6;
  double sum = 0;
  double position = 1.0;
  for (const HistoryEntry& entry : history) {
    const double age = static_cast<double>(last - entry.ts_ms) / half_life_ms;
    const double a =
        static_cast<double>(entry.weight) * std::exp2(-std::min(age, 1000.0)) * position;
    position *= static_cast<double>(decay);
    alpha->push_back(static_cast<float>(a));
    sum += a;
  }
  for (float& a : *alpha) {
    a = sum > 0 ? static_cast<float>(a / sum) : 0.0f;
  }
}

void BlockedGemv(const float* panels, const float* bias, const float* query, size_t dim, size_t n,
                 float* out) {
  // Eight independent lanes per block: GCC -O2 vectorises the inner loop without reassociation.
  for (size_t block = 0; block * kPanel < n; ++block) {
    const float* __restrict panel = panels + block * kPanel * dim;
    float acc[kPanel];
    for (size_t j = 0; j < kPanel; ++j) {
      acc[j] = bias != nullptr ? bias[block * kPanel + j] : 0.0f;
    }
    for (size_t k = 0; k < dim; ++k) {
      const float weight = query[k];
      for (size_t j = 0; j < kPanel; ++j) {
        acc[j] += weight * panel[k * kPanel + j];
      }
    }
    std::copy(acc, acc + kPanel, out + block * kPanel);
  }
}

void LoadVectors(const StepRows& rows, UserIdx user, size_t candidates, TwoTower::Worker* w) {
  const size_t dim = rows.dim;
  const size_t ni = w->item_ids.size();
  w->user_row.resize(dim);
  rows.users->Lookup(user, w->user_row);
  w->item_rows.resize(ni * (dim + 1));
  rows.items->LookupBatch(w->item_ids, w->item_rows);
  w->feat_begin.clear();
  w->feat_ids.clear();
  w->feat_weights.clear();
  for (uint64_t item : w->item_ids) {
    w->feat_begin.push_back(static_cast<uint32_t>(w->feat_ids.size()));
    for (const TwoTower::FeatureRef& ref : (*rows.item_features)[item]) {
      w->feat_ids.push_back(ref.feature);
      w->feat_weights.push_back(ref.weight);
    }
  }
  w->feat_begin.push_back(static_cast<uint32_t>(w->feat_ids.size()));
  w->feat_rows.resize(w->feat_ids.size() * dim);
  if (!w->feat_ids.empty()) {
    rows.features->LookupBatch(w->feat_ids, w->feat_rows);
  }
  w->vecs.assign(ni * dim, 0.0f);
  for (size_t n = 0; n < ni; ++n) {
    float* v = w->vecs.data() + n * dim;
    std::copy_n(w->item_rows.data() + n * (dim + 1), dim, v);
    for (uint32_t f = w->feat_begin[n]; f < w->feat_begin[n + 1]; ++f) {
      const float* x = w->feat_rows.data() + static_cast<size_t>(f) * dim;
      for (size_t k = 0; k < dim; ++k) {
        v[k] += w->feat_weights[f] * x[k];
      }
    }
  }
  w->query = w->user_row;
  for (size_t j = 0; j + candidates < ni; ++j) {
    const float* v = w->vecs.data() + (candidates + j) * dim;
    for (size_t k = 0; k < dim; ++k) {
      w->query[k] += w->alpha[j] * v[k];
    }
  }
}

void Coefficients(bool positive, TwoTowerLoss loss, size_t candidates, TwoTower::Worker* w) {
  const size_t dim = w->query.size();
  w->logits.resize(candidates);
  for (size_t c = 0; c < candidates; ++c) {
    w->logits[c] = Dot(w->query.data(), w->vecs.data() + c * dim, dim) +
                   w->item_rows[c * (dim + 1) + dim] - w->logq[c];
  }
  w->coef.assign(candidates, 0.0f);
  if (!positive) {
    w->coef[0] = Sigmoid(w->logits[0]);  // d/dx of -log sigmoid(-x)
    return;
  }
  if (loss == TwoTowerLoss::kBpr) {
    const float inv_n = 1.0f / static_cast<float>(candidates - 1);
    for (size_t c = 1; c < candidates; ++c) {
      // d/dx_ui of -log sigmoid(x_ui - x_uj) is -sigmoid(x_uj - x_ui).
      const float g = Sigmoid(w->logits[c] - w->logits[0]) * inv_n;
      w->coef[0] -= g;
      w->coef[c] += g;
    }
    return;
  }
  const float max = *std::max_element(w->logits.begin(), w->logits.end());
  float sum = 0.0f;
  for (size_t c = 0; c < candidates; ++c) {
    w->coef[c] = std::exp(w->logits[c] - max);
    sum += w->coef[c];
  }
  for (float& p : w->coef) {
    p /= sum;
  }
  w->coef[0] -= 1.0f;  // softmax cross-entropy: p_c - [c == positive]
}

void NegativeCoefficients(std::span<const float> weights, TwoTower::Worker* w) {
  const size_t dim = w->query.size();
  const size_t candidates = weights.size();
  w->logits.resize(candidates);
  w->coef.assign(candidates, 0.0f);
  for (size_t c = 0; c < candidates; ++c) {
    w->logits[c] =
        Dot(w->query.data(), w->vecs.data() + c * dim, dim) + w->item_rows[c * (dim + 1) + dim];
    w->coef[c] = weights[c] * Sigmoid(w->logits[c]);  // d/dx of -w log sigmoid(-x)
  }
}

void Gradients(const StepRows& rows, size_t candidates, float l2, TwoTower::Worker* w) {
  const size_t dim = rows.dim;
  const size_t rf = dim + 1;
  w->gq.assign(dim, 0.0f);
  for (size_t c = 0; c < candidates; ++c) {
    const float* v = w->vecs.data() + c * dim;
    for (size_t k = 0; k < dim; ++k) {
      w->gq[k] += w->coef[c] * v[k];
    }
  }
  w->g_user.resize(dim);
  for (size_t k = 0; k < dim; ++k) {
    w->g_user[k] = w->gq[k] + l2 * w->user_row[k];
  }
  w->g_item_ids.clear();
  w->g_item.clear();
  w->g_feat_ids.clear();
  w->g_feat.clear();
  for (size_t c = 0; c < candidates; ++c) {
    const float g = w->coef[c];
    const float* e = w->item_rows.data() + c * rf;
    float* row = MergedRow(w->item_ids[c], rf, &w->item_slots, &w->g_item_ids, &w->g_item);
    for (size_t k = 0; k < rf; ++k) {
      row[k] += (k < dim ? g * w->query[k] : g) + l2 * e[k];
    }
    for (uint32_t f = w->feat_begin[c]; f < w->feat_begin[c + 1]; ++f) {
      const float weight = w->feat_weights[f];
      const float* x = w->feat_rows.data() + static_cast<size_t>(f) * dim;
      float* grad = MergedRow(w->feat_ids[f], dim, &w->feat_slots, &w->g_feat_ids, &w->g_feat);
      for (size_t k = 0; k < dim; ++k) {
        grad[k] += weight * (g * w->query[k] + l2 * x[k]);
      }
    }
  }
  for (size_t j = 0; j + candidates < w->item_ids.size(); ++j) {
    float* row =
        MergedRow(w->item_ids[candidates + j], rf, &w->item_slots, &w->g_item_ids, &w->g_item);
    for (size_t k = 0; k < dim; ++k) {
      row[k] += w->alpha[j] * w->gq[k];
    }
  }
  ResetSlots(w->g_item_ids, &w->item_slots);
  ResetSlots(w->g_feat_ids, &w->feat_slots);
}

}  // namespace flywheel::model::internal
