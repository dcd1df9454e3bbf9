// Bpr training: Observe, Fit and the SGD steps (the model is described in bpr.h).

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "base/dot.h"
#include "model/bpr.h"

namespace flywheel::model {
namespace {

constexpr int kRedraws = 3;  // extra draws when a negative is the positive or seen

using base::Dot;

float Sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

}  // namespace

Bpr::Context Bpr::ContextOf(const UserState* user) const {
  Context context;
  if (user == nullptr || options_.context == 0 || options_.loss != BprLoss::kBpr) {
    return context;
  }
  const auto& recent = user->recent();
  const auto want = static_cast<uint32_t>(options_.context);
  for (auto it = recent.rbegin(); it != recent.rend() && context.size < want; ++it) {
    if (it->weight > 0) {
      context.items[context.size++] = it->item;
    }
  }
  return context;
}

void Bpr::ForgetUser(UserIdx user) {
  users_->Remove(user);
  std::erase_if(reservoir_, [user](const Replayed& r) { return r.user == user; });
}

bool Bpr::LearnsAsPositive(const data::Interaction& event) const {
  return event.weight > 0 || (options_.loss == BprLoss::kMse && event.rating);
}

void Bpr::Observe(const data::Interaction& event, const UserState& user) {
  GrowItems(event.item);
  const Context context = ContextOf(&user);
  if (LearnsAsPositive(event)) {
    Remember(event, context);
  }
  Train(worker_, event, context, &user, options_.replay);
}

Status Bpr::Fit(std::span<const data::Interaction> history) {
  UserStateStore users;
  std::vector<Context> contexts(history.size());
  for (size_t n = 0; n < history.size(); ++n) {
    const data::Interaction& event = history[n];
    GrowItems(event.item);
    UserState& state = users.Get(event.user);
    contexts[n] = ContextOf(&state);
    if (LearnsAsPositive(event)) {
      Remember(event, contexts[n]);
    }
    state.Add(event);
  }
  if (options_.threads > 1) {
    HogwildPasses(history, contexts, users);
    return Status::Ok();
  }
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    Shuffle(order);
    for (size_t index : order) {
      const data::Interaction& event = history[index];
      Train(worker_, event, contexts[index], &users.Find(event.user), 0);
    }
  }
  return Status::Ok();
}

void Bpr::Shuffle(std::vector<size_t>& order) {
  for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with the model's own Rng
    std::swap(order[i - 1], order[worker_.rng.Uniform(i)]);
  }
}

void Bpr::Train(Worker& w, const data::Interaction& event, const Context& context,
                const UserState* user, int replay) {
  if (!LearnsAsPositive(event)) {
    if (event.weight < 0 && options_.loss == BprLoss::kBpr) {
      DislikeStep(w, event, context);
    }
    return;
  }
  const bool mse = options_.loss == BprLoss::kMse;
  const Replayed current{event.user, event.item, event.value, context};
  // Replayed entries are drawn one step ahead and prefetched: a random reservoir entry is a
  // cache miss (the reservoir is MBs), overlapped with the step before it.
  size_t next = replay == 0 || reservoir_.empty() ? 0 : w.rng.Uniform(reservoir_.size());
  if (replay > 0 && !reservoir_.empty()) {
    __builtin_prefetch(&reservoir_[next]);
  }
  mse ? MseStep(w, current, event.ts_ms) : BprStep(w, current, user, event.ts_ms);
  for (int r = 0; r < replay && !reservoir_.empty(); ++r) {
    const size_t index = next;
    if (r + 1 < replay) {
      next = w.rng.Uniform(reservoir_.size());
      __builtin_prefetch(&reservoir_[next]);
    }
    const Replayed& past = reservoir_[index];
    mse ? MseStep(w, past, event.ts_ms) : BprStep(w, past, nullptr, event.ts_ms);
  }
}

float Bpr::NextLr(Worker& w) const {
  const auto t = static_cast<double>(w.step_base + w.stride * w.steps++);
  return static_cast<float>(options_.lr / std::sqrt(1.0 + options_.lr_decay * t));
}

ItemIdx Bpr::DrawCandidate(Worker& w) {
  switch (options_.sampling) {
    case BprSampling::kPopularity:
      if (!reservoir_.empty()) {
        return reservoir_[w.rng.Uniform(reservoir_.size())].item;
      }
      break;
    case BprSampling::kRecent:
      if (!recent_.empty()) {
        return recent_[w.rng.Uniform(recent_.size())];
      }
      break;
    case BprSampling::kUniform:
      break;
  }
  return static_cast<ItemIdx>(w.rng.Uniform(known_.size()));
}

ItemIdx Bpr::SampleNegative(Worker& w, ItemIdx positive, const UserState* user) {
  ItemIdx item = DrawCandidate(w);
  for (int attempt = 0; attempt < kRedraws; ++attempt) {
    if (item != positive && known_[item] != 0 && (user == nullptr || !user->HasSeen(item))) {
      break;
    }
    item = DrawCandidate(w);
  }
  return item;
}

float Bpr::LogQCorrection(ItemIdx item) const {
  if (options_.sampling != BprSampling::kPopularity || counts_[item] <= 0) {
    return 0.0f;
  }
  const double q = counts_[item] / total_count_;
  return static_cast<float>(std::log(q * static_cast<double>(num_known_)));
}

void Bpr::LoadQuery(Worker& w, UserIdx user, const Context& context) {
  const size_t dim = options_.dim;
  if (options_.user_rows) {
    users_->Lookup(user, w.user_row);
    std::copy(w.user_row.begin(), w.user_row.begin() + static_cast<std::ptrdiff_t>(dim),
              w.query.begin());
  } else {
    std::fill(w.query.begin(), w.query.end(), 0.0f);
  }
  w.ctx_ids.assign(context.items, context.items + context.size);
  if (context.size == 0) {
    return;
  }
  w.ctx_rows.resize(context.size * dim);
  contexts_->LookupBatch(w.ctx_ids, w.ctx_rows);
  const float inv = 1.0f / static_cast<float>(context.size);
  for (size_t c = 0; c < context.size; ++c) {
    const float* e = w.ctx_rows.data() + c * dim;
    for (size_t k = 0; k < dim; ++k) {
      w.query[k] += inv * e[k];
    }
  }
}

void Bpr::ApplyQueryGrad(Worker& w, UserIdx user, const Context& context, float lr,
                         TimestampMs now) {
  // w.user_grad holds dL/dz_u in its first dim floats (the bias column is not part of z_u).
  const size_t dim = options_.dim;
  const float l2 = options_.l2;
  if (context.size > 0) {
    const float inv = 1.0f / static_cast<float>(context.size);
    w.ctx_grads.resize(context.size * dim);
    for (size_t c = 0; c < context.size; ++c) {
      for (size_t k = 0; k < dim; ++k) {
        w.ctx_grads[c * dim + k] = inv * w.user_grad[k] + l2 * w.ctx_rows[c * dim + k];
      }
    }
    contexts_->ApplyGradients(w.ctx_ids, w.ctx_grads, lr, now);
  }
  if (options_.user_rows) {
    for (size_t k = 0; k < dim; ++k) {
      w.user_grad[k] += l2 * w.user_row[k];
    }
    w.user_grad[dim] = 0.0f;
    users_->ApplyGradient(user, w.user_grad, lr, now);
  }
}

void Bpr::BprStep(Worker& w, const Replayed& event, const UserState* user, TimestampMs now) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  const auto negatives = static_cast<size_t>(options_.negatives);
  w.item_ids.assign(1, event.item);
  for (size_t n = 0; n < negatives; ++n) {
    w.item_ids.push_back(SampleNegative(w, event.item, user));
  }
  w.item_rows.resize(w.item_ids.size() * rf);
  LoadQuery(w, event.user, event.context);
  items_->LookupBatch(w.item_ids, w.item_rows);
  const float* z = w.query.data();
  const float* qi = w.item_rows.data();
  const float x_ui = Dot(z, qi, dim) + qi[dim];
  std::fill(w.user_grad.begin(), w.user_grad.end(), 0.0f);
  w.item_grads.assign(w.item_rows.size(), 0.0f);
  float* gi = w.item_grads.data();
  const float inv_n = 1.0f / static_cast<float>(negatives);
  for (size_t n = 1; n <= negatives; ++n) {
    const float* qj = qi + n * rf;
    float* gj = gi + n * rf;
    const float x_uj = Dot(z, qj, dim) + qj[dim] - LogQCorrection(w.item_ids[n]);
    // d/dx_ui of -log sigmoid(x_ui - x_uj) is -sigmoid(x_uj - x_ui).
    const float g = Sigmoid(x_uj - x_ui) * inv_n;
    for (size_t k = 0; k < dim; ++k) {
      w.user_grad[k] -= g * (qi[k] - qj[k]);
      gi[k] -= g * z[k];
      gj[k] += g * z[k];
    }
    gi[dim] -= g;
    gj[dim] += g;
  }
  const float l2 = options_.l2;
  for (size_t k = 0; k < w.item_grads.size(); ++k) {
    w.item_grads[k] += l2 * w.item_rows[k];
  }
  const float lr = NextLr(w);
  ApplyQueryGrad(w, event.user, event.context, lr, now);
  ApplyItems(w, w.item_ids, w.item_grads, lr, now);
}

void Bpr::DislikeStep(Worker& w, const data::Interaction& event, const Context& context) {
  const size_t dim = options_.dim;
  w.item_ids.assign(1, event.item);
  w.item_rows.resize(row_floats());
  w.item_grads.resize(row_floats());
  LoadQuery(w, event.user, context);
  items_->Lookup(event.item, w.item_rows);
  const float* z = w.query.data();
  const float* qi = w.item_rows.data();
  // d/dx of -log sigmoid(-x) is sigmoid(x); a low rating's step is scaled by its graded weight
  // (a 3-star rating is a mild aversion, a 1-star one a strong one: EventTypeTable::Weight).
  const float scale = event.rating ? std::min(1.0f, -event.weight) : 1.0f;
  const float g = scale * Sigmoid(Dot(z, qi, dim) + qi[dim]);
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    w.user_grad[k] = g * qi[k];
    w.item_grads[k] = g * z[k] + l2 * qi[k];
  }
  w.item_grads[dim] = g + l2 * qi[dim];
  const float lr = NextLr(w);
  ApplyQueryGrad(w, event.user, context, lr, event.ts_ms);
  ApplyItems(w, w.item_ids, w.item_grads, lr, event.ts_ms);
}

void Bpr::ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                           std::span<const float> weights, TimestampMs now_ms,
                           const UserState& state) {
  if (options_.loss != BprLoss::kBpr || items.size() != weights.size()) {
    return;
  }
  Worker& w = worker_;
  const Context context = ContextOf(&state);
  // The anchors: the user's recent positive items known to the model, most recent first.
  w.item_ids.clear();
  const auto& recent = state.recent();
  for (auto it = recent.rbegin(); it != recent.rend() && w.item_ids.size() < kBprMaxContext; ++it) {
    if (it->weight > 0 && it->item < known_.size() && known_[it->item] != 0 &&
        std::find(w.item_ids.begin(), w.item_ids.end(), it->item) == w.item_ids.end()) {
      w.item_ids.push_back(it->item);
    }
  }
  const size_t positives = w.item_ids.size();
  std::vector<float> kept;
  for (size_t n = 0; n < items.size(); ++n) {
    const ItemIdx j = items[n];
    const bool usable =
        weights[n] > 0 && std::isfinite(weights[n]) && j < known_.size() && known_[j] != 0;
    if (usable && std::find(w.item_ids.begin(), w.item_ids.end(), j) == w.item_ids.end()) {
      w.item_ids.push_back(j);
      kept.push_back(std::min(weights[n], 1.0f));
    }
  }
  if (kept.empty()) {
    return;  // nothing to learn: the model is untouched (weight 0 changes nothing)
  }
  w.item_rows.resize(w.item_ids.size() * row_floats());
  LoadQuery(w, user, context);
  items_->LookupBatch(w.item_ids, w.item_rows);
  NegativeGrads(w, positives, kept);
  const float lr = NextLr(w);
  ApplyQueryGrad(w, user, context, lr, now_ms);
  ApplyItems(w, w.item_ids, w.item_grads, lr, now_ms);
}

void Bpr::NegativeGrads(Worker& w, size_t positives, std::span<const float> weights) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  std::fill(w.user_grad.begin(), w.user_grad.end(), 0.0f);
  w.item_grads.assign(w.item_rows.size(), 0.0f);
  const float* z = w.query.data();
  // The user side and the anchors move by the mean over the negatives (one impression weighs
  // like one event); each negative item takes its own full weighted step.
  const float inv_n = 1.0f / static_cast<float>(weights.size());
  for (size_t n = 0; n < weights.size(); ++n) {
    const size_t j = positives + n;
    const float* qj = w.item_rows.data() + j * rf;
    float* gj = w.item_grads.data() + j * rf;
    const float x_uj = Dot(z, qj, dim) + qj[dim];
    float g = 0.0f;
    if (positives == 0) {
      g = weights[n] * Sigmoid(x_uj);  // d/dx of -log sigmoid(-x)
      for (size_t k = 0; k < dim; ++k) {
        w.user_grad[k] += g * inv_n * qj[k];
      }
    } else {
      const size_t i = n % positives;
      const float* qi = w.item_rows.data() + i * rf;
      float* gi = w.item_grads.data() + i * rf;
      g = weights[n] * Sigmoid(x_uj - Dot(z, qi, dim) - qi[dim]);
      for (size_t k = 0; k < dim; ++k) {
        w.user_grad[k] -= g * inv_n * (qi[k] - qj[k]);
        gi[k] -= g * inv_n * z[k];
      }
      gi[dim] -= g * inv_n;
    }
    for (size_t k = 0; k < dim; ++k) {
      gj[k] += g * z[k];
    }
    gj[dim] += g;
  }
  const float l2 = options_.l2;
  for (size_t k = 0; k < w.item_grads.size(); ++k) {
    w.item_grads[k] += l2 * w.item_rows[k];
  }
}

void Bpr::LoadPair(Worker& w, UserIdx user, ItemIdx item) {
  w.item_ids.assign(1, item);
  w.item_rows.resize(row_floats());
  w.item_grads.resize(row_floats());
  users_->Lookup(user, w.user_row);
  items_->Lookup(item, w.item_rows);
}

float Bpr::RatingFromRows(const float* pu, const float* qi) const {
  const size_t dim = options_.dim;
  const auto mean = static_cast<float>(rating_sum_ / std::max(total_count_, 1.0));
  return mean + pu[dim] + qi[dim] + Dot(pu, qi, dim);
}

void Bpr::MseStep(Worker& w, const Replayed& event, TimestampMs now) {
  const size_t dim = options_.dim;
  LoadPair(w, event.user, event.item);
  const float* pu = w.user_row.data();
  const float* qi = w.item_rows.data();
  const float error = RatingFromRows(pu, qi) - event.value;
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    w.user_grad[k] = error * qi[k] + l2 * pu[k];
    w.item_grads[k] = error * pu[k] + l2 * qi[k];
  }
  w.user_grad[dim] = error + l2 * pu[dim];
  w.item_grads[dim] = error + l2 * qi[dim];
  const float lr = NextLr(w);
  users_->ApplyGradient(event.user, w.user_grad, lr, now);
  ApplyItems(w, w.item_ids, w.item_grads, lr, now);
}

void Bpr::ApplyItems(Worker& w, std::span<const uint64_t> item_ids,
                     std::span<const float> item_grads, float lr, TimestampMs now) {
  w.item_rows.resize(item_grads.size());
  items_->ApplyGradients(item_ids, item_grads, lr, now, w.item_rows);
  if (w.mirror) {
    MirrorRows(item_ids, w.item_rows);
  }
}

}  // namespace flywheel::model
