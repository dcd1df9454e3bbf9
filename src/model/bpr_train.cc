// Bpr training: Observe, Fit and the SGD steps (the model is described in bpr.h).

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "model/bpr.h"

namespace flywheel::model {
namespace {

constexpr int kRedraws = 3;  // extra draws when a negative is the positive or seen

float Dot(const float* a, const float* b, size_t n) {
  float sum = 0.0f;
  for (size_t k = 0; k < n; ++k) {
    sum += a[k] * b[k];
  }
  return sum;
}

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

void Bpr::Observe(const data::Interaction& event, const UserState& user) {
  GrowItems(event.item);
  const Context context = ContextOf(&user);
  if (event.weight > 0) {
    Remember(event, context);
  }
  Train(event, context, &user, options_.replay);
}

Status Bpr::Fit(std::span<const data::Interaction> history) {
  UserStateStore users;
  std::vector<Context> contexts(history.size());
  for (size_t n = 0; n < history.size(); ++n) {
    const data::Interaction& event = history[n];
    GrowItems(event.item);
    UserState& state = users.Get(event.user);
    contexts[n] = ContextOf(&state);
    if (event.weight > 0) {
      Remember(event, contexts[n]);
    }
    state.Add(event);
  }
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with the model's own Rng
      std::swap(order[i - 1], order[rng_.Uniform(i)]);
    }
    for (size_t index : order) {
      const data::Interaction& event = history[index];
      Train(event, contexts[index], &users.Find(event.user), 0);
    }
  }
  return Status::Ok();
}

void Bpr::Train(const data::Interaction& event, const Context& context, const UserState* user,
                int replay) {
  if (event.weight < 0) {
    if (options_.loss == BprLoss::kBpr) {
      DislikeStep(event, context);
    }
    return;
  }
  if (event.weight == 0) {
    return;
  }
  const bool mse = options_.loss == BprLoss::kMse;
  const Replayed current{event.user, event.item, event.value, context};
  // Replayed entries are drawn one step ahead and prefetched: a random reservoir entry is a
  // cache miss (the reservoir is MBs), overlapped with the step before it.
  size_t next = replay == 0 || reservoir_.empty() ? 0 : rng_.Uniform(reservoir_.size());
  if (replay > 0 && !reservoir_.empty()) {
    __builtin_prefetch(&reservoir_[next]);
  }
  mse ? MseStep(current, event.ts_ms) : BprStep(current, user, event.ts_ms);
  for (int r = 0; r < replay && !reservoir_.empty(); ++r) {
    const size_t index = next;
    if (r + 1 < replay) {
      next = rng_.Uniform(reservoir_.size());
      __builtin_prefetch(&reservoir_[next]);
    }
    const Replayed& past = reservoir_[index];
    mse ? MseStep(past, event.ts_ms) : BprStep(past, nullptr, event.ts_ms);
  }
}

float Bpr::NextLr() {
  const double t = static_cast<double>(steps_++);
  return static_cast<float>(options_.lr / std::sqrt(1.0 + options_.lr_decay * t));
}

ItemIdx Bpr::DrawCandidate() {
  switch (options_.sampling) {
    case BprSampling::kPopularity:
      if (!reservoir_.empty()) {
        return reservoir_[rng_.Uniform(reservoir_.size())].item;
      }
      break;
    case BprSampling::kRecent:
      if (!recent_.empty()) {
        return recent_[rng_.Uniform(recent_.size())];
      }
      break;
    case BprSampling::kUniform:
      break;
  }
  return static_cast<ItemIdx>(rng_.Uniform(known_.size()));
}

ItemIdx Bpr::SampleNegative(ItemIdx positive, const UserState* user) {
  ItemIdx item = DrawCandidate();
  for (int attempt = 0; attempt < kRedraws; ++attempt) {
    if (item != positive && known_[item] != 0 && (user == nullptr || !user->HasSeen(item))) {
      break;
    }
    item = DrawCandidate();
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

void Bpr::LoadQuery(UserIdx user, const Context& context) {
  const size_t dim = options_.dim;
  if (options_.user_rows) {
    users_->Lookup(user, user_row_);
    std::copy(user_row_.begin(), user_row_.begin() + static_cast<std::ptrdiff_t>(dim),
              query_.begin());
  } else {
    std::fill(query_.begin(), query_.end(), 0.0f);
  }
  ctx_ids_.assign(context.items, context.items + context.size);
  if (context.size == 0) {
    return;
  }
  ctx_rows_.resize(context.size * dim);
  contexts_->LookupBatch(ctx_ids_, ctx_rows_);
  const float inv = 1.0f / static_cast<float>(context.size);
  for (size_t c = 0; c < context.size; ++c) {
    const float* e = ctx_rows_.data() + c * dim;
    for (size_t k = 0; k < dim; ++k) {
      query_[k] += inv * e[k];
    }
  }
}

void Bpr::ApplyQueryGrad(UserIdx user, const Context& context, float lr, TimestampMs now) {
  // user_grad_ holds dL/dz_u in its first dim floats (the bias column is not part of z_u).
  const size_t dim = options_.dim;
  const float l2 = options_.l2;
  if (context.size > 0) {
    const float inv = 1.0f / static_cast<float>(context.size);
    ctx_grads_.resize(context.size * dim);
    for (size_t c = 0; c < context.size; ++c) {
      for (size_t k = 0; k < dim; ++k) {
        ctx_grads_[c * dim + k] = inv * user_grad_[k] + l2 * ctx_rows_[c * dim + k];
      }
    }
    contexts_->ApplyGradients(ctx_ids_, ctx_grads_, lr, now);
  }
  if (options_.user_rows) {
    for (size_t k = 0; k < dim; ++k) {
      user_grad_[k] += l2 * user_row_[k];
    }
    user_grad_[dim] = 0.0f;
    users_->ApplyGradient(user, user_grad_, lr, now);
  }
}

void Bpr::BprStep(const Replayed& event, const UserState* user, TimestampMs now) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  const auto negatives = static_cast<size_t>(options_.negatives);
  item_ids_.assign(1, event.item);
  for (size_t n = 0; n < negatives; ++n) {
    item_ids_.push_back(SampleNegative(event.item, user));
  }
  item_rows_.resize(item_ids_.size() * rf);
  LoadQuery(event.user, event.context);
  items_->LookupBatch(item_ids_, item_rows_);
  const float* z = query_.data();
  const float* qi = item_rows_.data();
  const float x_ui = Dot(z, qi, dim) + qi[dim];
  std::fill(user_grad_.begin(), user_grad_.end(), 0.0f);
  item_grads_.assign(item_rows_.size(), 0.0f);
  float* gi = item_grads_.data();
  const float inv_n = 1.0f / static_cast<float>(negatives);
  for (size_t n = 1; n <= negatives; ++n) {
    const float* qj = qi + n * rf;
    float* gj = gi + n * rf;
    const float x_uj = Dot(z, qj, dim) + qj[dim] - LogQCorrection(item_ids_[n]);
    // d/dx_ui of -log sigmoid(x_ui - x_uj) is -sigmoid(x_uj - x_ui).
    const float g = Sigmoid(x_uj - x_ui) * inv_n;
    for (size_t k = 0; k < dim; ++k) {
      user_grad_[k] -= g * (qi[k] - qj[k]);
      gi[k] -= g * z[k];
      gj[k] += g * z[k];
    }
    gi[dim] -= g;
    gj[dim] += g;
  }
  const float l2 = options_.l2;
  for (size_t k = 0; k < item_grads_.size(); ++k) {
    item_grads_[k] += l2 * item_rows_[k];
  }
  const float lr = NextLr();
  ApplyQueryGrad(event.user, event.context, lr, now);
  ApplyItems(item_ids_, item_grads_, lr, now);
}

void Bpr::DislikeStep(const data::Interaction& event, const Context& context) {
  const size_t dim = options_.dim;
  item_ids_.assign(1, event.item);
  item_rows_.resize(row_floats());
  item_grads_.resize(row_floats());
  LoadQuery(event.user, context);
  items_->Lookup(event.item, item_rows_);
  const float* z = query_.data();
  const float* qi = item_rows_.data();
  // d/dx of -log sigmoid(-x) is sigmoid(x).
  const float g = Sigmoid(Dot(z, qi, dim) + qi[dim]);
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    user_grad_[k] = g * qi[k];
    item_grads_[k] = g * z[k] + l2 * qi[k];
  }
  item_grads_[dim] = g + l2 * qi[dim];
  const float lr = NextLr();
  ApplyQueryGrad(event.user, context, lr, event.ts_ms);
  ApplyItems(item_ids_, item_grads_, lr, event.ts_ms);
}

void Bpr::LoadPair(UserIdx user, ItemIdx item) {
  item_ids_.assign(1, item);
  item_rows_.resize(row_floats());
  item_grads_.resize(row_floats());
  users_->Lookup(user, user_row_);
  items_->Lookup(item, item_rows_);
}

float Bpr::RatingFromRows(const float* pu, const float* qi) const {
  const size_t dim = options_.dim;
  const auto mean = static_cast<float>(rating_sum_ / std::max(total_count_, 1.0));
  return mean + pu[dim] + qi[dim] + Dot(pu, qi, dim);
}

void Bpr::MseStep(const Replayed& event, TimestampMs now) {
  const size_t dim = options_.dim;
  LoadPair(event.user, event.item);
  const float* pu = user_row_.data();
  const float* qi = item_rows_.data();
  const float error = RatingFromRows(pu, qi) - event.value;
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    user_grad_[k] = error * qi[k] + l2 * pu[k];
    item_grads_[k] = error * pu[k] + l2 * qi[k];
  }
  user_grad_[dim] = error + l2 * pu[dim];
  item_grads_[dim] = error + l2 * qi[dim];
  const float lr = NextLr();
  users_->ApplyGradient(event.user, user_grad_, lr, now);
  ApplyItems(item_ids_, item_grads_, lr, now);
}

void Bpr::ApplyItems(std::span<const uint64_t> item_ids, std::span<const float> item_grads,
                     float lr, TimestampMs now) {
  item_rows_.resize(item_grads.size());
  items_->ApplyGradients(item_ids, item_grads, lr, now, item_rows_);
  MirrorRows(item_ids, item_rows_);
}

}  // namespace flywheel::model
