#include "model/twotower.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <utility>

#include "model/twotower_features.h"
#include "model/twotower_internal.h"

namespace flywheel::model {

using internal::BlockedGemv;
using internal::kPanel;

namespace {

constexpr int kRedraws = 3;

// A finite stand-in for a non-finite score, keeping its order where it has one.
float Finite(float score) {
  if (std::isnan(score) || score < 0) {
    return std::numeric_limits<float>::lowest();
  }
  return std::numeric_limits<float>::max();
}

HistoryEntry EntryOf(const data::Interaction& event) {
  return HistoryEntry{.item = event.item,
                      .value = event.value,
                      .ts_ms = event.ts_ms,
                      .weight = event.weight,
                      .type = event.type};
}

}  // namespace

Result<std::unique_ptr<TwoTower>> TwoTower::Create(const TwoTowerOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateTwoTowerOptions(options));
  embedding::EmbeddingTableOptions table;
  table.optimizer.kind = options.optimizer;
  table.optimizer.clip_norm = options.clip;
  table.init_std = options.init_std;
  table.dim = options.dim;
  table.seed = base::Mix64(options.seed * 3);
  FLYWHEEL_ASSIGN_OR_RETURN(auto users, embedding::EmbeddingTable::Create(table));
  table.seed = base::Mix64(options.seed * 3 + 2);
  FLYWHEEL_ASSIGN_OR_RETURN(auto features, embedding::EmbeddingTable::Create(table));
  table.dim = options.dim + 1;  // e_i + bias
  table.seed = base::Mix64(options.seed * 3 + 1);
  FLYWHEEL_ASSIGN_OR_RETURN(auto items, embedding::EmbeddingTable::Create(table));
  return std::unique_ptr<TwoTower>(
      new TwoTower(options, std::move(users), std::move(items), std::move(features)));
}

TwoTower::TwoTower(const TwoTowerOptions& options, std::unique_ptr<embedding::EmbeddingTable> users,
                   std::unique_ptr<embedding::EmbeddingTable> items,
                   std::unique_ptr<embedding::EmbeddingTable> features)
    : options_(options),
      users_(std::move(users)),
      items_(std::move(items)),
      features_(std::move(features)),
      worker_(std::make_unique<Worker>(base::Mix64(options.seed ^ 0x7770u))) {}

TwoTower::~TwoTower() = default;

uint64_t TwoTower::skipped_non_finite() const {
  return users_->skipped_non_finite() + items_->skipped_non_finite() +
         features_->skipped_non_finite();
}

// ----- catalogue -----

void TwoTower::GrowItems(ItemIdx item) {
  if (item >= known_.size()) {
    const size_t n = static_cast<size_t>(item) + 1;
    const size_t padded = (n + kPanel - 1) / kPanel * kPanel;
    known_.resize(n, 0);
    counts_.resize(n, 0.0f);
    item_features_.resize(n);
    item_bias_.resize(padded, 0.0f);
    item_panels_.resize(padded * options_.dim, 0.0f);
  }
  if (known_[item] == 0) {
    known_[item] = 1;
    ++num_known_;
  }
}

uint32_t TwoTower::FeatureIndex(uint64_t hash) {
  auto [it, inserted] = feature_index_.emplace(hash, static_cast<uint32_t>(feature_hashes_.size()));
  if (inserted) {
    feature_hashes_.push_back(hash);
    const size_t padded = (feature_hashes_.size() + kPanel - 1) / kPanel * kPanel;
    feature_panels_.resize(padded * options_.dim, 0.0f);
  }
  return it->second;
}

void TwoTower::ForgetUser(UserIdx user) {
  users_->Remove(user);
  rings_.erase(user);
  std::erase_if(reservoir_, [user](const Replayed& r) { return r.user == user; });
}

void TwoTower::SetItemContent(ItemIdx item, const Item& content) {
  if (!options_.content || item == kNoItem) {
    return;
  }
  GrowItems(item);
  std::vector<FeatureRef>& refs = item_features_[item];
  refs.clear();
  for (const internal::HashedFeature& f : internal::ItemFeatureHashes(content, options_.max_tags)) {
    refs.push_back({FeatureIndex(f.hash), f.weight});
  }
  std::vector<uint64_t> ids;
  ids.reserve(refs.size());
  for (const FeatureRef& ref : refs) {
    ids.push_back(ref.feature);
  }
  RefreshFeatures(ids);
  UpdateCsr(item);
}

void TwoTower::UpdateCsr(ItemIdx item) {
  if (csr_begin_.empty()) {
    csr_begin_.push_back(0);
  }
  if (item + 1 < csr_begin_.size()) {
    RebuildCsr();
    return;
  }
  while (csr_begin_.size() < static_cast<size_t>(item) + 1) {
    csr_begin_.push_back(static_cast<uint32_t>(csr_refs_.size()));
  }
  csr_refs_.insert(csr_refs_.end(), item_features_[item].begin(), item_features_[item].end());
  csr_begin_.push_back(static_cast<uint32_t>(csr_refs_.size()));
}

void TwoTower::RebuildCsr() {
  csr_begin_.assign(1, 0);
  csr_refs_.clear();
  for (const std::vector<FeatureRef>& refs : item_features_) {
    csr_refs_.insert(csr_refs_.end(), refs.begin(), refs.end());
    csr_begin_.push_back(static_cast<uint32_t>(csr_refs_.size()));
  }
}

// ----- training -----

void TwoTower::Remember(const data::Interaction& event) {
  const Replayed entry{event.user, event.item, event.ts_ms};
  counts_[event.item] += 1.0f;
  total_count_ += 1.0;
  ++positives_seen_;
  if (reservoir_.size() < static_cast<size_t>(options_.reservoir)) {
    reservoir_.push_back(entry);
  } else if (const uint64_t slot = worker_->rng.Uniform(positives_seen_);
             slot < reservoir_.size()) {
    reservoir_[slot] = entry;
  }
  PushRing(event.user, EntryOf(event));
}

void TwoTower::PushRing(UserIdx user, const HistoryEntry& entry) {
  if (options_.history == 0) {
    return;
  }
  std::vector<HistoryEntry>& ring = rings_[user];
  if (ring.size() >= static_cast<size_t>(options_.history)) {
    ring.erase(ring.begin());
  }
  ring.push_back(entry);
}

void TwoTower::Observe(const data::Interaction& event, const UserState& user) {
  GrowItems(event.item);
  if (event.weight > 0) {
    Remember(event);
  }
  internal::CollectHistory(user.recent(), event.item, options_.history, known_, &worker_->pooled);
  Train(event, worker_->pooled, &user, options_.replay, worker_.get());
}

void TwoTower::Train(const data::Interaction& event, std::span<const HistoryEntry> history,
                     const UserState* seen, int replay, Worker* worker) {
  if (event.weight < 0) {
    Step(event.user, event.item, false, history, seen, event.ts_ms, worker);
    return;
  }
  if (event.weight == 0) {
    return;
  }
  Step(event.user, event.item, true, history, seen, event.ts_ms, worker);
  for (int r = 0; r < replay && !reservoir_.empty(); ++r) {
    const Replayed past = reservoir_[worker->rng.Uniform(reservoir_.size())];
    internal::CollectHistory(rings_[past.user], past.item, options_.history, known_, &worker->hist);
    Step(past.user, past.item, true, worker->hist, nullptr, event.ts_ms, worker);
  }
}

Status TwoTower::Fit(std::span<const data::Interaction> history) {
  std::vector<std::vector<HistoryEntry>> per_user;
  std::vector<uint32_t> positions(history.size());
  UserStateStore seen;
  for (size_t i = 0; i < history.size(); ++i) {
    const data::Interaction& event = history[i];
    GrowItems(event.item);
    if (event.weight > 0) {
      Remember(event);
    }
    if (event.user >= per_user.size()) {
      per_user.resize(static_cast<size_t>(event.user) + 1);
    }
    positions[i] = static_cast<uint32_t>(per_user[event.user].size());
    per_user[event.user].push_back(EntryOf(event));
    seen.Get(event.user).Add(event);
  }
  FitEpochs(history, positions, per_user, seen);
  return Status::Ok();
}

void TwoTower::FitEpochs(std::span<const data::Interaction> history,
                         std::span<const uint32_t> positions,
                         const std::vector<std::vector<HistoryEntry>>& per_user,
                         const UserStateStore& seen) {
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const auto threads = static_cast<size_t>(options_.threads);
  auto run = [&](size_t begin, size_t end, Worker* worker) {
    for (size_t n = begin; n < end; ++n) {
      const data::Interaction& event = history[order[n]];
      const std::span<const HistoryEntry> past(per_user[event.user].data(), positions[order[n]]);
      internal::CollectHistory(past, event.item, options_.history, known_, &worker->pooled);
      Train(event, worker->pooled, &seen.Find(event.user), 0, worker);
    }
  };
  refresh_mirrors_ = threads == 1;
  for (int epoch = 0; epoch < options_.epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates with the model's own Rng
      std::swap(order[i - 1], order[worker_->rng.Uniform(i)]);
    }
    if (threads == 1) {
      run(0, order.size(), worker_.get());
      continue;
    }
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      workers.push_back(std::make_unique<Worker>(worker_->rng.Next()));
      pool.emplace_back(run, order.size() * t / threads, order.size() * (t + 1) / threads,
                        workers.back().get());
    }
    for (std::thread& thread : pool) {
      thread.join();
    }
  }
  refresh_mirrors_ = true;
  RebuildMirrors();
}

ItemIdx TwoTower::DrawCandidate(Worker* worker) const {
  if (options_.popularity_sampling && !reservoir_.empty()) {
    return reservoir_[worker->rng.Uniform(reservoir_.size())].item;
  }
  return static_cast<ItemIdx>(worker->rng.Uniform(known_.size()));
}

ItemIdx TwoTower::SampleNegative(ItemIdx positive, const UserState* seen, Worker* worker) const {
  ItemIdx item = DrawCandidate(worker);
  for (int attempt = 0; attempt < kRedraws; ++attempt) {
    if (item != positive && known_[item] != 0 && (seen == nullptr || !seen->HasSeen(item))) {
      break;
    }
    item = DrawCandidate(worker);
  }
  return item;
}

float TwoTower::LogQ(ItemIdx item) const {
  if (!options_.popularity_sampling || counts_[item] <= 0) {
    return 0.0f;
  }
  const double q = counts_[item] / total_count_;
  return static_cast<float>(std::log(q * static_cast<double>(num_known_)));
}

float TwoTower::NextLr() {
  const auto t = static_cast<double>(steps_.fetch_add(1, std::memory_order_relaxed));
  return static_cast<float>(options_.lr / std::sqrt(1.0 + options_.lr_decay * t));
}

void TwoTower::Step(UserIdx user, ItemIdx item, bool positive,
                    std::span<const HistoryEntry> history, const UserState* seen, TimestampMs now,
                    Worker* w) {
  const size_t dim = options_.dim;
  w->item_ids.assign(1, item);
  for (int n = 0; positive && n < options_.negatives; ++n) {
    w->item_ids.push_back(SampleNegative(item, seen, w));
  }
  const size_t candidates = w->item_ids.size();
  w->logq.assign(candidates, 0.0f);
  for (size_t c = options_.loss == TwoTowerLoss::kBpr ? 1 : 0; c < candidates; ++c) {
    w->logq[c] = LogQ(static_cast<ItemIdx>(w->item_ids[c]));
  }
  internal::PoolingWeights(history, options_.half_life_hours, options_.history_decay, &w->alpha);
  for (const HistoryEntry& entry : history) {
    w->item_ids.push_back(entry.item);
  }
  internal::StepRows rows{users_.get(), items_.get(), features_.get(), &item_features_, dim};
  internal::LoadVectors(rows, user, candidates, w);
  internal::Coefficients(positive, options_.loss, candidates, w);
  internal::Gradients(rows, candidates, options_.l2, w);
  ApplyStep(user, now, w);
}

void TwoTower::ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                                std::span<const float> weights, TimestampMs now_ms,
                                const UserState& state) {
  if (items.size() != weights.size()) {
    return;
  }
  Worker* w = worker_.get();
  internal::CollectHistory(state.recent(), kNoItem, options_.history, known_, &w->pooled);
  auto in_history = [w](ItemIdx item) {
    return std::any_of(w->pooled.begin(), w->pooled.end(),
                       [item](const HistoryEntry& e) { return e.item == item; });
  };
  w->item_ids.clear();
  std::vector<float> kept;
  for (size_t n = 0; n < items.size(); ++n) {
    const ItemIdx j = items[n];
    if (weights[n] > 0 && std::isfinite(weights[n]) && j < known_.size() && known_[j] != 0 &&
        !in_history(j) &&
        std::find(w->item_ids.begin(), w->item_ids.end(), j) == w->item_ids.end()) {
      w->item_ids.push_back(j);
      kept.push_back(std::min(weights[n], 1.0f));
    }
  }
  if (kept.empty()) {
    return;  // nothing to learn: the model is untouched (weight 0 changes nothing)
  }
  const size_t candidates = w->item_ids.size();
  internal::PoolingWeights(w->pooled, options_.half_life_hours, options_.history_decay, &w->alpha);
  for (const HistoryEntry& entry : w->pooled) {
    w->item_ids.push_back(entry.item);
  }
  internal::StepRows rows{users_.get(), items_.get(), features_.get(), &item_features_,
                          options_.dim};
  internal::LoadVectors(rows, user, candidates, w);
  internal::NegativeCoefficients(kept, w);
  internal::Gradients(rows, candidates, options_.l2, w);
  ApplyStep(user, now_ms, w);
}

void TwoTower::ApplyStep(UserIdx user, TimestampMs now, Worker* w) {
  const float lr = NextLr();
  users_->ApplyGradient(user, w->g_user, lr, now);
  items_->ApplyGradients(w->g_item_ids, w->g_item, lr, now);
  if (!w->g_feat_ids.empty()) {
    features_->ApplyGradients(w->g_feat_ids, w->g_feat, lr, now);
  }
  if (refresh_mirrors_) {
    RefreshItems(w->g_item_ids);
    RefreshFeatures(w->g_feat_ids);
  }
}

// ----- mirrors and scoring -----

void TwoTower::RefreshItems(std::span<const uint64_t> items) {
  const size_t dim = options_.dim;
  thread_local std::vector<float> row;
  row.resize(dim + 1);
  for (uint64_t item : items) {
    items_->Lookup(item, row);
    float* out = item_panels_.data() + (item / kPanel) * kPanel * dim + item % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      out[k * kPanel] = row[k];
    }
    item_bias_[item] = row[dim];
  }
}

void TwoTower::RefreshFeatures(std::span<const uint64_t> features) {
  const size_t dim = options_.dim;
  thread_local std::vector<float> row;
  row.resize(dim);
  for (uint64_t feature : features) {
    features_->Lookup(feature, row);
    float* out = feature_panels_.data() + (feature / kPanel) * kPanel * dim + feature % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      out[k * kPanel] = row[k];
    }
  }
}

void TwoTower::RebuildMirrors() {
  std::vector<uint64_t> ids(known_.size());
  std::iota(ids.begin(), ids.end(), uint64_t{0});
  RefreshItems(ids);
  ids.resize(feature_hashes_.size());
  std::iota(ids.begin(), ids.end(), uint64_t{0});
  RefreshFeatures(ids);
}

void TwoTower::MirrorItemVector(ItemIdx item, float* out) const {
  const size_t dim = options_.dim;
  const float* e = item_panels_.data() + (item / kPanel) * kPanel * dim + item % kPanel;
  for (size_t k = 0; k < dim; ++k) {
    out[k] = e[k * kPanel];
  }
  for (const FeatureRef& ref : item_features_[item]) {
    const float* x =
        feature_panels_.data() + (ref.feature / kPanel) * kPanel * dim + ref.feature % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      out[k] += ref.weight * x[k * kPanel];
    }
  }
}

void TwoTower::QueryVector(UserIdx user, const UserState* state, std::span<float> query) const {
  const size_t dim = options_.dim;
  users_->Lookup(user, query);
  if (state == nullptr) {
    return;
  }
  thread_local std::vector<HistoryEntry> hist;
  thread_local std::vector<float> alpha, vec;
  internal::CollectHistory(state->recent(), kNoItem, options_.history, known_, &hist);
  internal::PoolingWeights(hist, options_.half_life_hours, options_.history_decay, &alpha);
  vec.resize(dim);
  for (size_t j = 0; j < hist.size(); ++j) {
    MirrorItemVector(hist[j].item, vec.data());
    for (size_t k = 0; k < dim; ++k) {
      query[k] += alpha[j] * vec[k];
    }
  }
}

void TwoTower::ScoreAll(const RecommendRequest& request, std::span<float> scores) const {
  const size_t n = std::min(scores.size(), known_.size());
  const size_t dim = options_.dim;
  thread_local std::vector<float> query, feature_scores;
  query.resize(dim);
  QueryVector(request.user, request.user_state, query);
  feature_scores.assign((feature_hashes_.size() + kPanel - 1) / kPanel * kPanel, 0.0f);
  BlockedGemv(feature_panels_.data(), nullptr, query.data(), dim, feature_hashes_.size(),
              feature_scores.data());
  thread_local std::vector<float> item_scores;
  item_scores.resize((n + kPanel - 1) / kPanel * kPanel);
  BlockedGemv(item_panels_.data(), item_bias_.data(), query.data(), dim, n, item_scores.data());
  const size_t covered = csr_begin_.empty() ? 0 : std::min(n, csr_begin_.size() - 1);
  for (size_t i = 0; i < covered; ++i) {
    for (uint32_t r = csr_begin_[i]; r < csr_begin_[i + 1]; ++r) {
      item_scores[i] += csr_refs_[r].weight * feature_scores[csr_refs_[r].feature];
    }
  }
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const float score = item_scores[i];
    scores[i] = known_[i] == 0 ? kNegInf : std::isfinite(score) ? score : Finite(score);
  }
}

float TwoTower::Score(UserIdx user, const UserState& state, ItemIdx item) const {
  RecommendRequest request;
  request.user = user;
  request.user_state = &state;
  std::vector<float> scores(known_.size());
  ScoreAll(request, scores);
  return item < scores.size() ? scores[item] : 0.0f;
}

bool TwoTower::RetrievalQuery(const RecommendRequest& request, std::span<float> out) const {
  const size_t dim = options_.dim;
  if (out.size() != dim + 1) {
    return false;
  }
  QueryVector(request.user, request.user_state, out.first(dim));
  out[dim] = 1.0f;
  return std::any_of(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(dim),
                     [](float x) { return x != 0.0f; });
}

bool TwoTower::RetrievalItem(ItemIdx item, std::span<float> out) const {
  const size_t dim = options_.dim;
  if (out.size() != dim + 1 || item >= known_.size() || known_[item] == 0) {
    return false;
  }
  MirrorItemVector(item, out.data());
  out[dim] = item_bias_[item];
  return true;
}

void TwoTower::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(known_.size());
  ScoreAll(request, scores);
  SelectTopK(scores, request.k, request.exclude, out);
}

bool TwoTower::AllRowsFinite() const {
  auto finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  };
  std::vector<float> row(options_.dim);
  for (const auto& [user, ring] : rings_) {
    users_->Lookup(user, row);
    if (!finite(row)) {
      return false;
    }
  }
  return finite(item_panels_) && finite(item_bias_) && finite(feature_panels_);
}

}  // namespace flywheel::model
