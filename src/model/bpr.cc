#include "model/bpr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <utility>

namespace flywheel::model {
namespace {

constexpr int kRedraws = 3;        // extra draws when a negative is the positive or seen
constexpr size_t kColdItems = 50;  // recent items averaged for a user without a row

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

std::string Num(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

const char* SamplingName(BprSampling sampling) {
  switch (sampling) {
    case BprSampling::kUniform:
      return "uniform";
    case BprSampling::kPopularity:
      return "popularity";
    case BprSampling::kRecent:
      return "recent";
  }
  return "?";
}

Status Invalid(const std::string& field, const std::string& rule) {
  return Status::InvalidArgument("bpr: " + field + " must be " + rule);
}

bool InRange(double value, double min, double max) {
  return std::isfinite(value) && value >= min && value <= max;
}

// A finite stand-in for a non-finite score, keeping its order where it has one.
float Finite(float score) {
  if (std::isnan(score) || score < 0) {
    return std::numeric_limits<float>::lowest();
  }
  return std::numeric_limits<float>::max();
}

}  // namespace

Status ValidateBprOptions(const BprOptions& o) {
  if (o.dim < 1 || o.dim > 4096) {
    return Invalid("dim", "in [1, 4096]");
  }
  if (o.optimizer == embedding::OptimizerKind::kFtrl) {
    return Invalid("optimizer", "sgd, adagrad or adam");
  }
  if (!InRange(o.lr, 1e-30, 1e30) || !InRange(o.l2, 0, 1e6) || !InRange(o.lr_decay, 0, 1e6) ||
      !InRange(o.init_std, 0, 1e3) || !InRange(o.clip, 0, 1e30)) {
    return Invalid("lr, l2, lr_decay, init_std, clip", "finite, lr > 0, others >= 0");
  }
  if (o.negatives < 1 || o.negatives > 1000) {
    return Invalid("negatives", "in [1, 1000]");
  }
  if (o.recent_window < 1 || o.reservoir < 1) {
    return Invalid("recent_window and reservoir", ">= 1");
  }
  if (o.replay < 0 || o.replay > 100 || o.epochs < 0 || o.epochs > 1000) {
    return Invalid("replay, epochs", "in [0, 100], [0, 1000]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Bpr>> Bpr::Create(const BprOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateBprOptions(options));
  embedding::EmbeddingTableOptions table;
  table.dim = options.dim + 1;  // factors + bias
  table.optimizer.kind = options.optimizer;
  table.optimizer.clip_norm = options.clip;
  table.init_std = options.init_std;
  table.seed = base::Mix64(options.seed * 2);
  FLYWHEEL_ASSIGN_OR_RETURN(auto users, embedding::EmbeddingTable::Create(table));
  table.seed = base::Mix64(options.seed * 2 + 1);
  FLYWHEEL_ASSIGN_OR_RETURN(auto items, embedding::EmbeddingTable::Create(table));
  return std::unique_ptr<Bpr>(new Bpr(options, std::move(users), std::move(items)));
}

Bpr::Bpr(const BprOptions& options, std::unique_ptr<embedding::EmbeddingTable> users,
         std::unique_ptr<embedding::EmbeddingTable> items)
    : options_(options),
      users_(std::move(users)),
      items_(std::move(items)),
      rng_(base::Mix64(options.seed ^ 0xB9Bu)),
      user_row_(row_floats()),
      user_grad_(row_floats()) {}

KeyValues Bpr::params() const {
  const BprOptions& o = options_;
  return {{"dim", std::to_string(o.dim)},
          {"optimizer", std::string(embedding::OptimizerKindName(o.optimizer))},
          {"lr", Num(o.lr)},
          {"l2", Num(o.l2)},
          {"lr_decay", Num(o.lr_decay)},
          {"init_std", Num(o.init_std)},
          {"clip", Num(o.clip)},
          {"negatives", std::to_string(o.negatives)},
          {"sampling", SamplingName(o.sampling)},
          {"recent_window", std::to_string(o.recent_window)},
          {"replay", std::to_string(o.replay)},
          {"reservoir", std::to_string(o.reservoir)},
          {"epochs", std::to_string(o.epochs)},
          {"seed", std::to_string(o.seed)},
          {"loss", o.loss == BprLoss::kMse ? "mse" : "bpr"}};
}

uint64_t Bpr::skipped_non_finite() const {
  return users_->skipped_non_finite() + items_->skipped_non_finite();
}

// ----- bookkeeping -----

void Bpr::GrowItems(ItemIdx item) {
  if (item >= known_.size()) {
    const size_t n = static_cast<size_t>(item) + 1;
    const size_t padded = (n + kPanel - 1) / kPanel * kPanel;
    known_.resize(n, 0);
    counts_.resize(n, 0.0f);
    item_bias_.resize(padded, 0.0f);
    panels_.resize(padded * options_.dim, 0.0f);
  }
  if (known_[item] == 0) {
    known_[item] = 1;
    ++num_known_;
  }
}

void Bpr::Remember(const data::Interaction& event) {
  counts_[event.item] += 1.0f;
  total_count_ += 1.0;
  rating_sum_ += event.value;
  const auto window = static_cast<size_t>(options_.recent_window);
  if (recent_.size() < window) {
    recent_.push_back(event.item);
  } else {
    recent_[recent_next_] = event.item;
  }
  recent_next_ = (recent_next_ + 1) % window;
  const Replayed entry{event.user, event.item, event.value};
  ++positives_seen_;
  if (reservoir_.size() < static_cast<size_t>(options_.reservoir)) {
    reservoir_.push_back(entry);
  } else if (const uint64_t slot = rng_.Uniform(positives_seen_); slot < reservoir_.size()) {
    reservoir_[slot] = entry;
  }
}

// ----- training -----

void Bpr::Observe(const data::Interaction& event, const UserState& user) {
  GrowItems(event.item);
  if (event.weight > 0) {
    Remember(event);
  }
  Train(event, &user, options_.replay);
}

Status Bpr::Fit(std::span<const data::Interaction> history) {
  UserStateStore users;
  for (const data::Interaction& event : history) {
    GrowItems(event.item);
    if (event.weight > 0) {
      Remember(event);
    }
    users.Get(event.user).Add(event);
  }
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with the model's own Rng
      std::swap(order[i - 1], order[rng_.Uniform(i)]);
    }
    for (size_t index : order) {
      const data::Interaction& event = history[index];
      Train(event, &users.Find(event.user), 0);
    }
  }
  return Status::Ok();
}

void Bpr::Train(const data::Interaction& event, const UserState* user, int replay) {
  if (event.weight > 0) {
    Learn({event.user, event.item, event.value}, user, event.ts_ms, replay);
  } else if (event.weight < 0 && options_.loss == BprLoss::kBpr) {
    DislikeStep(event);
  }
}

void Bpr::Learn(const Replayed& event, const UserState* user, TimestampMs now, int replay) {
  const bool mse = options_.loss == BprLoss::kMse;
  mse ? MseStep(event, now) : BprStep(event, user, now);
  for (int r = 0; r < replay && !reservoir_.empty(); ++r) {
    const Replayed past = reservoir_[rng_.Uniform(reservoir_.size())];
    mse ? MseStep(past, now) : BprStep(past, nullptr, now);
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

void Bpr::BprStep(const Replayed& event, const UserState* user, TimestampMs now) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  const auto negatives = static_cast<size_t>(options_.negatives);
  item_ids_.assign(1, event.item);
  for (size_t n = 0; n < negatives; ++n) {
    item_ids_.push_back(SampleNegative(event.item, user));
  }
  item_rows_.resize(item_ids_.size() * rf);
  users_->Lookup(event.user, user_row_);
  items_->LookupBatch(item_ids_, item_rows_);
  const float* pu = user_row_.data();
  const float* qi = item_rows_.data();
  const float x_ui = Dot(pu, qi, dim) + qi[dim];
  std::fill(user_grad_.begin(), user_grad_.end(), 0.0f);
  item_grads_.assign(item_rows_.size(), 0.0f);
  float* gi = item_grads_.data();
  const float inv_n = 1.0f / static_cast<float>(negatives);
  for (size_t n = 1; n <= negatives; ++n) {
    const float* qj = qi + n * rf;
    float* gj = gi + n * rf;
    const float x_uj = Dot(pu, qj, dim) + qj[dim] - LogQCorrection(item_ids_[n]);
    // d/dx_ui of -log sigmoid(x_ui - x_uj) is -sigmoid(x_uj - x_ui).
    const float g = Sigmoid(x_uj - x_ui) * inv_n;
    for (size_t k = 0; k < dim; ++k) {
      user_grad_[k] -= g * (qi[k] - qj[k]);
      gi[k] -= g * pu[k];
      gj[k] += g * pu[k];
    }
    gi[dim] -= g;
    gj[dim] += g;
  }
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    user_grad_[k] += l2 * pu[k];
  }
  for (size_t k = 0; k < item_grads_.size(); ++k) {
    item_grads_[k] += l2 * item_rows_[k];
  }
  Apply(event.user, user_grad_, item_ids_, item_grads_, now);
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
  Apply(event.user, user_grad_, item_ids_, item_grads_, now);
}

void Bpr::DislikeStep(const data::Interaction& event) {
  const size_t dim = options_.dim;
  LoadPair(event.user, event.item);
  const float* pu = user_row_.data();
  const float* qi = item_rows_.data();
  // d/dx of -log sigmoid(-x) is sigmoid(x).
  const float g = Sigmoid(Dot(pu, qi, dim) + qi[dim]);
  const float l2 = options_.l2;
  for (size_t k = 0; k < dim; ++k) {
    user_grad_[k] = g * qi[k] + l2 * pu[k];
    item_grads_[k] = g * pu[k] + l2 * qi[k];
  }
  user_grad_[dim] = 0.0f;  // the user bias does not enter x_ui
  item_grads_[dim] = g + l2 * qi[dim];
  Apply(event.user, user_grad_, item_ids_, item_grads_, event.ts_ms);
}

void Bpr::Apply(UserIdx user, std::span<const float> user_grad, std::span<const uint64_t> item_ids,
                std::span<const float> item_grads, TimestampMs now) {
  const float lr = NextLr();
  users_->ApplyGradient(user, user_grad, lr, now);
  items_->ApplyGradients(item_ids, item_grads, lr, now);
  RefreshMirror(item_ids);
}

void Bpr::RefreshMirror(std::span<const uint64_t> item_ids) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  item_rows_.resize(item_ids.size() * rf);
  items_->LookupBatch(item_ids, item_rows_);
  for (size_t n = 0; n < item_ids.size(); ++n) {
    const size_t item = item_ids[n];
    const float* row = item_rows_.data() + n * rf;
    float* out = panels_.data() + (item / kPanel) * kPanel * dim + item % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      out[k * kPanel] = row[k];
    }
    item_bias_[item] = row[dim];
  }
}

// ----- scoring -----

float Bpr::Score(UserIdx user, ItemIdx item) const {
  const std::vector<float> p = UserRow(user);
  const std::vector<float> q = ItemRow(item);
  if (q.empty()) {
    return 0.0f;
  }
  const size_t dim = options_.dim;
  return (p.empty() ? 0.0f : Dot(p.data(), q.data(), dim)) + q[dim];
}

std::optional<float> Bpr::PredictRating(UserIdx user, ItemIdx item) const {
  if (options_.loss != BprLoss::kMse) {
    return std::nullopt;
  }
  return RatingOf(user, item);
}

float Bpr::RatingOf(UserIdx user, ItemIdx item) const {
  std::vector<float> p(row_floats());
  std::vector<float> q(row_floats());
  users_->Lookup(user, p);
  items_->Lookup(item, q);
  return RatingFromRows(p.data(), q.data());
}

std::vector<float> Bpr::UserRow(UserIdx user) const {
  std::vector<float> row(row_floats());
  return users_->Lookup(user, row) ? row : std::vector<float>();
}

std::vector<float> Bpr::ItemRow(ItemIdx item) const {
  std::vector<float> row(row_floats());
  return items_->Lookup(item, row) ? row : std::vector<float>();
}

bool Bpr::QueryVector(const RecommendRequest& request, std::span<float> query) const {
  const size_t dim = options_.dim;
  thread_local std::vector<float> row;
  row.resize(row_floats());
  if (users_->Lookup(request.user, row)) {
    std::copy(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(dim), query.begin());
    return true;
  }
  // Cold user: the mean factor of their most recent positive known items.
  std::fill(query.begin(), query.end(), 0.0f);
  if (request.user_state == nullptr) {
    return false;
  }
  size_t used = 0;
  const auto& recent = request.user_state->recent();
  for (auto it = recent.rbegin(); it != recent.rend() && used < kColdItems; ++it) {
    if (it->weight <= 0 || it->item >= known_.size() || known_[it->item] == 0) {
      continue;
    }
    const float* q = panels_.data() + (it->item / kPanel) * kPanel * dim + it->item % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      query[k] += q[k * kPanel];
    }
    ++used;
  }
  if (used == 0) {
    return false;
  }
  for (float& value : query) {
    value /= static_cast<float>(used);
  }
  return true;
}

void Bpr::ScoreAll(const RecommendRequest& request, std::span<float> scores) const {
  const size_t n = std::min(scores.size(), known_.size());
  const size_t dim = options_.dim;
  thread_local std::vector<float> query;
  query.resize(dim);
  if (QueryVector(request, query)) {
    // scores[i] = b_i + sum_k query[k] * q_i[k], eight items at a time: each lane of acc is
    // an independent sum, so GCC -O2 vectorises the inner loop without reassociation.
    for (size_t block = 0; block * kPanel < n; ++block) {
      const float* panel = panels_.data() + block * kPanel * dim;
      float acc[kPanel];
      for (size_t j = 0; j < kPanel; ++j) {
        acc[j] = item_bias_[block * kPanel + j];
      }
      for (size_t k = 0; k < dim; ++k) {
        const float weight = query[k];
        for (size_t j = 0; j < kPanel; ++j) {
          acc[j] += weight * panel[k * kPanel + j];
        }
      }
      const size_t count = std::min(kPanel, n - block * kPanel);
      std::copy(acc, acc + count, scores.begin() + static_cast<std::ptrdiff_t>(block * kPanel));
    }
  } else {
    std::copy(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(n), scores.begin());
  }
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    if (known_[i] == 0) {
      scores[i] = kNegInf;
    } else if (!std::isfinite(scores[i])) {
      scores[i] = Finite(scores[i]);
    }
  }
}

void Bpr::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(known_.size());
  ScoreAll(request, scores);
  SelectTopK(scores, request.k, request.exclude, out);
}

}  // namespace flywheel::model
