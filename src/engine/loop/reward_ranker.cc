#include "engine/loop/reward_ranker.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>

#include "base/random.h"
#include "engine/serve/pipeline.h"

namespace flywheel::engine {
namespace {

constexpr uint32_t kStateVersion = 1;
constexpr double kHourMs = 3600.0 * 1000.0;
constexpr double kUserPrior = 5.0;  // pseudo-items of the global rate in a user's rate

uint64_t Fnv(std::string_view text, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-std::clamp(x, -30.0, 30.0)));
}

// Standardised values (mean 0, sd 1) of the finite entries; 0 for the others and when all are
// equal.
std::vector<float> ZScores(const std::vector<double>& x) {
  double sum = 0;
  double n = 0;
  for (double v : x) {
    if (std::isfinite(v)) {
      sum += v;
      n += 1;
    }
  }
  const double mean = n > 0 ? sum / n : 0;
  double ss = 0;
  for (double v : x) {
    if (std::isfinite(v)) {
      ss += (v - mean) * (v - mean);
    }
  }
  const double sd = n > 1 ? std::sqrt(ss / n) : 0;
  std::vector<float> z(x.size(), 0.0f);
  for (size_t i = 0; i < x.size(); ++i) {
    if (sd > 1e-12 && std::isfinite(x[i])) {
      z[i] = static_cast<float>((x[i] - mean) / sd);
    } else if (sd > 1e-12 && x[i] < 0) {
      z[i] = -3.0f;  // -infinity: below everything
    }
  }
  return z;
}

}  // namespace

Status ValidateRewardRankerOptions(const RewardRankerOptions& o) {
  if (!(o.weight_cap >= 1)) {
    return Status::InvalidArgument("loop.weight_cap must be >= 1").WithField("loop.weight_cap");
  }
  if (!(o.discount > 0 && o.discount <= 1)) {
    return Status::InvalidArgument("loop.discount must be in (0, 1]").WithField("loop.discount");
  }
  if (!(o.learning_rate > 0) || !(o.l2 >= 0) || o.hash_bits < 4 || o.hash_bits > 24 ||
      o.user_half_life_ms <= 0) {
    return Status::InvalidArgument("reward ranker: bad learning options");
  }
  return Status::Ok();
}

RewardRankerOptions RewardRankerOptionsFrom(const LoopOptions& loop) {
  RewardRankerOptions options;
  options.weight_cap = loop.weight_cap;
  options.discount = loop.discount;
  options.horizon = loop.horizon;
  return options;
}

RewardRanker::RewardRanker(RewardRankerOptions options) : options_(options) {
  hashed_.assign(size_t{1} << options_.hash_bits, 0.0f);
  hashed_g2_.assign(hashed_.size(), 0.0f);
  Reset();
}

void RewardRanker::Reset() {
  w_.fill(0.0);
  w_[1] = 1.0;  // the model's score: a fresh ranker keeps the model's order
  g2_.fill(0.0);
  std::fill(hashed_.begin(), hashed_.end(), 0.0f);
  std::fill(hashed_g2_.begin(), hashed_g2_.end(), 0.0f);
  users_.clear();
  global_shown_ = 0;
  global_reward_ = 0;
  updates_ = 0;
}

double RewardRanker::ExampleWeight(double propensity, uint32_t position) const {
  double iw = 1.0;
  if (std::isfinite(propensity) && propensity > 0) {
    iw = std::min(1.0 / propensity, options_.weight_cap);
  }
  return iw * std::pow(options_.discount, static_cast<double>(position));
}

double RewardRanker::UserRate(UserIdx user, TimestampMs now_ms) const {
  const double global = (global_reward_ + 1.0) / (global_shown_ + 10.0);
  auto it = users_.find(user);
  if (it == users_.end()) {
    return global;
  }
  const double age = static_cast<double>(std::max<TimestampMs>(0, now_ms - it->second.at));
  const double f = std::exp2(-age / static_cast<double>(options_.user_half_life_ms));
  return (it->second.reward * f + kUserPrior * global) / (it->second.shown * f + kUserPrior);
}

RewardFeatures RewardRanker::Features(const Catalog& catalog, UserIdx user,
                                      const KeyValues* attributes, ItemIdx item, float z,
                                      float position, TimestampMs now_ms) const {
  RewardFeatures f;
  const ItemInfo* info = catalog.item(item);
  double age_hours = 0;
  double events = 0;
  uint64_t category = 0x9e3779b97f4a7c15ULL;  // "no category"
  if (info != nullptr) {
    const TimestampMs born = info->created_ms > 0 ? info->created_ms : info->first_seen_ms;
    age_hours = static_cast<double>(std::max<TimestampMs>(0, now_ms - born)) / kHourMs;
    events = static_cast<double>(info->events);
    if (!info->categories.empty()) {
      category = base::Mix64(info->categories.front() + 1);
    }
  }
  f.dense = {1.0f,
             z,
             position,
             static_cast<float>(std::log1p(age_hours)),
             static_cast<float>(std::log1p(events)),
             static_cast<float>(UserRate(user, now_ms))};
  const uint64_t mask = (uint64_t{1} << options_.hash_bits) - 1;
  const auto hour = static_cast<uint64_t>(((now_ms / 3'600'000) % 24 + 24) % 24 / 4);
  f.buckets.push_back(static_cast<uint32_t>(base::Mix64(item * 4 + 1) & mask));
  f.buckets.push_back(static_cast<uint32_t>(base::Mix64(category * 4 + 2) & mask));
  f.buckets.push_back(static_cast<uint32_t>(base::Mix64(category ^ (hour * 4 + 3)) & mask));
  if (attributes != nullptr) {
    for (const auto& [key, value] : *attributes) {
      const uint64_t h = Fnv(value, Fnv("=", Fnv(key))) ^ category;
      f.buckets.push_back(static_cast<uint32_t>(base::Mix64(h) & mask));
    }
  }
  return f;
}

double RewardRanker::Predict(const RewardFeatures& f) const {
  double logit = 0;
  for (size_t k = 0; k < kRewardDense; ++k) {
    logit += w_[k] * f.dense[k];
  }
  for (uint32_t b : f.buckets) {
    logit += hashed_[b];
  }
  return Sigmoid(logit);
}

void RewardRanker::Update(const RewardFeatures& f, bool label, double weight) {
  if (!(weight > 0)) {
    return;
  }
  const double g = weight * (Predict(f) - (label ? 1.0 : 0.0));
  const double lr = options_.learning_rate;
  for (size_t k = 0; k < kRewardDense; ++k) {
    const double grad = g * f.dense[k] + options_.l2 * w_[k];
    g2_[k] += grad * grad;
    w_[k] -= lr * grad / std::sqrt(g2_[k] + 1e-8);
  }
  for (uint32_t b : f.buckets) {
    const double grad = g + options_.l2 * hashed_[b];
    hashed_g2_[b] += static_cast<float>(grad * grad);
    hashed_[b] -= static_cast<float>(lr * grad / std::sqrt(hashed_g2_[b] + 1e-8));
  }
  ++updates_;
}

void RewardRanker::Learn(const View& view, const ClosedImpression& closed) {
  if (view.catalog == nullptr || closed.slots.empty()) {
    return;
  }
  // The model's scores of the shown items now (minus the position without vectors).
  std::vector<double> raw(closed.slots.size());
  std::vector<float> q;
  bool vectors = false;
  if (view.model != nullptr && view.model->retrieval_dim() > 0) {
    q.resize(view.model->retrieval_dim());
    model::UserState empty;
    model::RecommendRequest request;
    request.user = closed.user;
    request.user_state = view.state != nullptr ? view.state : &empty;
    request.now_ms = closed.ts_ms;
    vectors = view.model->RetrievalQuery(request, q);
  }
  std::vector<float> v(q.size());
  for (size_t s = 0; s < closed.slots.size(); ++s) {
    const ClosedSlot& slot = closed.slots[s];
    raw[s] = -static_cast<double>(slot.position);
    if (vectors) {  // an item without a vector: NaN, score feature 0 (the list's mean)
      raw[s] = slot.item != kNoItem && view.model->RetrievalItem(slot.item, v)
                   ? std::inner_product(q.begin(), q.end(), v.begin(), 0.0)
                   : std::nan("");
    }
  }
  const std::vector<float> z = ZScores(raw);
  const KeyValues* attributes = view.catalog->user_attributes(closed.user);
  double shown = 0;
  double clicked = 0;
  for (size_t s = 0; s < closed.slots.size(); ++s) {
    const ClosedSlot& slot = closed.slots[s];
    if (slot.item == kNoItem || (options_.horizon > 0 && slot.position >= options_.horizon)) {
      continue;
    }
    const auto position = static_cast<float>(std::log2(1.0 + slot.position));
    const RewardFeatures f =
        Features(*view.catalog, closed.user, attributes, slot.item, z[s], position, closed.ts_ms);
    Update(f, slot.reward > 0, ExampleWeight(slot.propensity, slot.position));
    shown += 1;
    clicked += slot.reward > 0 ? 1 : 0;
  }
  global_shown_ += shown;
  global_reward_ += clicked;
  if (closed.user != kNoUser && shown > 0) {
    RateEntry& rate = users_[closed.user];
    const double age = static_cast<double>(std::max<TimestampMs>(0, closed.ts_ms - rate.at));
    const double f = std::exp2(-age / static_cast<double>(options_.user_half_life_ms));
    rate.shown = rate.shown * f + shown;
    rate.reward = rate.reward * f + clicked;
    rate.at = std::max(rate.at, closed.ts_ms);
  }
}

void RewardRanker::Rerank(const Catalog& catalog, const ServeRequest& request,
                          std::vector<ServeItem>* items) const {
  if (items->empty()) {
    return;
  }
  std::vector<double> raw(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    raw[i] = (*items)[i].score;
  }
  const std::vector<float> z = ZScores(raw);
  const KeyValues* attributes = catalog.user_attributes(request.user);
  std::vector<std::pair<double, size_t>> order(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const RewardFeatures f =
        Features(catalog, request.user, attributes, (*items)[i].item, z[i], 0.0f, request.now_ms);
    order[i] = {Predict(f), i};
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ServeItem> out;
  out.reserve(items->size());
  for (const auto& [p, i] : order) {
    out.push_back(std::move((*items)[i]));
    out.back().score = static_cast<float>(p);
  }
  *items = std::move(out);
}

void RewardRanker::OnClosed(const ClosedImpression& closed) {
  View view;
  view.catalog = source_.catalog;
  if (source_.models != nullptr && !source_.models->empty()) {
    size_t which = 0;
    for (size_t m = 0; source_.model_names != nullptr && m < source_.model_names->size(); ++m) {
      if ((*source_.model_names)[m] == closed.model) {
        which = m;
      }
    }
    view.model = (*source_.models)[which].get();
  }
  if (source_.users != nullptr && closed.user != kNoUser) {
    view.state = &source_.users->Find(closed.user);
  }
  Learn(view, closed);
}

void RewardRanker::Save(base::ByteWriter* out) const {
  out->Put<uint32_t>(kStateVersion);
  out->Put<uint32_t>(options_.hash_bits);
  for (size_t k = 0; k < kRewardDense; ++k) {
    out->Put<double>(w_[k]);
    out->Put<double>(g2_[k]);
  }
  out->PutVector(hashed_);
  out->PutVector(hashed_g2_);
  out->Put<double>(global_shown_);
  out->Put<double>(global_reward_);
  out->Put<uint64_t>(updates_);
  std::vector<UserIdx> ids;
  ids.reserve(users_.size());
  for (const auto& entry : users_) {
    ids.push_back(entry.first);
  }
  std::sort(ids.begin(), ids.end());
  out->Put<uint64_t>(ids.size());
  for (UserIdx u : ids) {
    const RateEntry& r = users_.at(u);
    out->Put<uint32_t>(u);
    out->Put<double>(r.shown);
    out->Put<double>(r.reward);
    out->Put<int64_t>(r.at);
  }
}

Status RewardRanker::Load(base::ByteReader* in) {
  Reset();
  uint32_t version = 0;
  uint32_t bits = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "loop_reward version"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&bits, "loop_reward hash_bits"));
  if (version != kStateVersion || bits != options_.hash_bits) {
    return Status::Corruption("loop_reward: version " + std::to_string(version) + ", " +
                              std::to_string(bits) + " hash bits");
  }
  for (size_t k = 0; k < kRewardDense; ++k) {
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&w_[k], "loop_reward weight"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&g2_[k], "loop_reward g2"));
  }
  FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&hashed_, "loop_reward hashed"));
  FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&hashed_g2_, "loop_reward hashed g2"));
  if (hashed_.size() != (size_t{1} << bits) || hashed_g2_.size() != hashed_.size()) {
    return Status::Corruption("loop_reward: hashed table size");
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&global_shown_, "loop_reward shown"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&global_reward_, "loop_reward reward"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&updates_, "loop_reward updates"));
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "loop_reward users"));
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t u = 0;
    RateEntry r;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&u, "loop_reward user"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.shown, "loop_reward user shown"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.reward, "loop_reward user reward"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.at, "loop_reward user at"));
    users_[u] = r;
  }
  return Status::Ok();
}

void RewardRanker::Rerank(const ServeContext& ctx, const ServeRequest& request,
                          std::vector<ServeItem>* items) const {
  Rerank(ctx.catalog, request, items);
}

}  // namespace flywheel::engine
