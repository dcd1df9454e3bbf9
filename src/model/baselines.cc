#include "model/baselines.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace flywheel::model {
namespace {

template <typename T>
void GrowTo(std::vector<T>& values, ItemIdx item) {
  if (item >= values.size()) {
    values.resize(static_cast<size_t>(item) + 1, T{});
  }
}

std::string FormatDouble(double value) {
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') {
    text.pop_back();
  }
  return text;
}

}  // namespace

const ParamTable<RecentPopOptions>& RecentPopParamTable() {
  static const ParamTable<RecentPopOptions> kTable =
      ParamTable<RecentPopOptions>("recentpop")
          .Double("half_life_hours", &RecentPopOptions::half_life_hours, 1e-3, 1e7,
                  "how fast popularity forgets: short follows trends "
                  "quickly but is noisy; long converges to MostPop");
  return kTable;
}

const ParamTable<ItemKnnOptions>& ItemKnnParamTable() {
  static const ParamTable<ItemKnnOptions> kTable =
      ParamTable<ItemKnnOptions>("itemknn")
          .Int("window", &ItemKnnOptions::window, 1, 10000,
               "a user's new item co-occurs with their previous `window` distinct items: larger "
               "captures long-range taste but costs O(window) per event and dilutes sequential "
               "signal")
          .Int("history", &ItemKnnOptions::history, 1, 10000,
               "how many of the user's most recent items vote when scoring: more = steadier, "
               "fewer = more reactive to the session; cost O(history x row size) per request")
          .Double("decay", &ItemKnnOptions::decay, 0, 1,
                  "weight of the a-th most recent item is decay^a: 1 = all equal, small = only "
                  "the last item matters");
  return kTable;
}

// ----- MostPop -----

void MostPop::Observe(const data::Interaction& event, const UserState& /*user*/) {
  GrowTo(counts_, event.item);
  if (event.weight > 0) {
    counts_[event.item] += 1.0f;
  }
}

void MostPop::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(counts_.size());
  std::copy(counts_.begin(), counts_.end(), scores.begin());
  SelectTopK(scores, request.k, request.exclude, out);
}

namespace {

constexpr uint32_t kBaselineStateVersion = 1;

Status CheckVersion(base::ByteReader* in, const char* model) {
  uint32_t version = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "state version"));
  if (version != kBaselineStateVersion) {
    return in->Error(std::string(model) + " state version " + std::to_string(version) +
                     " is not supported");
  }
  return Status::Ok();
}

}  // namespace

Status MostPop::SaveState(base::ByteWriter* out) const {
  out->Put(kBaselineStateVersion);
  out->PutVector(counts_);
  return Status::Ok();
}

Status MostPop::LoadState(base::ByteReader* in) {
  FLYWHEEL_RETURN_IF_ERROR(CheckVersion(in, "pop"));
  return in->GetVector(&counts_, "pop counts");
}

// ----- RecentPop -----

RecentPop::RecentPop(RecentPopOptions options)
    : options_(options), inv_tau_ms_(std::log(2.0) / (options.half_life_hours * 3600e3)) {}

KeyValues RecentPop::params() const {
  return {{"half_life_hours", FormatDouble(options_.half_life_hours)}};
}

void RecentPop::Rebase(TimestampMs new_landmark) {
  const double factor = std::exp(-static_cast<double>(new_landmark - landmark_ms_) * inv_tau_ms_);
  for (double& score : scores_) {
    score *= factor;
  }
  landmark_ms_ = new_landmark;
}

void RecentPop::Observe(const data::Interaction& event, const UserState& /*user*/) {
  GrowTo(scores_, event.item);
  if (event.weight <= 0) {
    return;
  }
  if (landmark_ms_ == INT64_MIN) {
    landmark_ms_ = event.ts_ms;
  }
  double exponent = static_cast<double>(event.ts_ms - landmark_ms_) * inv_tau_ms_;
  if (exponent > 300.0) {  // keep stored values far from double overflow (e^709)
    Rebase(event.ts_ms);
    exponent = 0.0;
  }
  scores_[event.item] += static_cast<double>(event.weight) * std::exp(exponent);
}

void RecentPop::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(scores_.size());
  // Rank by the stored values (a common factor away from the true decayed scores), rescaled to
  // the request time for reporting; computed in double to avoid float overflow.
  const double to_now =
      landmark_ms_ == INT64_MIN
          ? 1.0
          : std::exp(-static_cast<double>(request.now_ms - landmark_ms_) * inv_tau_ms_);
  double max_score = 0;
  for (double score : scores_) {
    max_score = std::max(max_score, score);
  }
  // Normalise by the maximum so float keeps the order (relative precision), then restore scale
  // on the selected items only.
  const double norm = max_score > 0 ? 1.0 / max_score : 1.0;
  for (size_t i = 0; i < scores_.size(); ++i) {
    scores[i] = static_cast<float>(scores_[i] * norm);
  }
  SelectTopK(scores, request.k, request.exclude, out);
  for (ScoredItem& item : *out) {
    item.score = static_cast<float>(scores_[item.item] * to_now);
  }
}

Status RecentPop::SaveState(base::ByteWriter* out) const {
  out->Put(kBaselineStateVersion);
  out->Put(options_.half_life_hours);
  out->Put(landmark_ms_);
  out->PutVector(scores_);
  return Status::Ok();
}

Status RecentPop::LoadState(base::ByteReader* in) {
  FLYWHEEL_RETURN_IF_ERROR(CheckVersion(in, "recentpop"));
  double half_life = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&half_life, "half-life"));
  if (half_life != options_.half_life_hours) {
    return in->Error("recentpop half_life_hours differs from the model's parameters");
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&landmark_ms_, "landmark"));
  return in->GetVector(&scores_, "recentpop scores");
}

// ----- ItemKNN -----

KeyValues ItemKnn::params() const {
  return {{"window", std::to_string(options_.window)},
          {"history", std::to_string(options_.history)},
          {"decay", FormatDouble(options_.decay)}};
}

void ItemKnn::EnsureItem(ItemIdx item) {
  GrowTo(cooc_, item);
  GrowTo(counts_, item);
  GrowTo(inv_sqrt_n_, item);
}

void ItemKnn::Observe(const data::Interaction& event, const UserState& user) {
  EnsureItem(event.item);
  if (event.weight <= 0 || user.HasSeen(event.item)) {
    return;  // binary user-item matrix: only a user's first interaction with an item counts
  }
  const ItemIdx item = event.item;
  counts_[item] += 1.0f;
  inv_sqrt_n_[item] = 1.0f / std::sqrt(counts_[item]);
  // Co-occur with the user's previous `window` distinct positive items, most recent first.
  const auto& recent = user.recent();
  std::vector<ItemIdx>& partners = partners_scratch_;
  partners.clear();
  for (auto it = recent.rbegin();
       it != recent.rend() && static_cast<int>(partners.size()) < options_.window; ++it) {
    if (it->weight > 0 && it->item != item &&
        std::find(partners.begin(), partners.end(), it->item) == partners.end()) {
      partners.push_back(it->item);
    }
  }
  for (ItemIdx other : partners) {
    cooc_[item].Add(other, 1.0f);
    cooc_[other].Add(item, 1.0f);
  }
}

float ItemKnn::Similarity(ItemIdx a, ItemIdx b) const {
  if (a >= cooc_.size() || b >= cooc_.size()) {
    return 0.0f;
  }
  return cooc_[a].Get(b) * inv_sqrt_n_[a] * inv_sqrt_n_[b];
}

void ItemKnn::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(cooc_.size());
  // Walk the history from the most recent, taking distinct positive items.
  const auto& recent = request.user_state->recent();
  std::vector<ItemIdx> used;
  float weight = 1.0f;
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    if (static_cast<int>(used.size()) >= options_.history) {
      break;
    }
    if (it->weight <= 0 || it->item >= cooc_.size() ||
        std::find(used.begin(), used.end(), it->item) != used.end()) {
      continue;
    }
    used.push_back(it->item);
    const float row_weight = weight * inv_sqrt_n_[it->item];
    cooc_[it->item].AddScaledTo(scores, row_weight);
    weight *= static_cast<float>(options_.decay);
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = scores[i] * inv_sqrt_n_[i] + 1e-9f * counts_[i];
  }
  SelectTopK(scores, request.k, request.exclude, out);
}

Status ItemKnn::SaveState(base::ByteWriter* out) const {
  out->Put(kBaselineStateVersion);
  out->PutVector(counts_);
  // Each row's entries (key, weight as SparseRow::Slot: 8 bytes each in the snapshot), sorted by
  // key: independent of the row's layout.
  std::vector<SparseRow::Slot> entries;
  for (const SparseRow& row : cooc_) {
    entries.clear();
    row.ForEach([&](ItemIdx key, float value) { entries.push_back(SparseRow::Slot{key, value}); });
    std::sort(entries.begin(), entries.end(),
              [](const SparseRow::Slot& a, const SparseRow::Slot& b) { return a.key < b.key; });
    out->PutVector(entries);
  }
  return Status::Ok();
}

Status ItemKnn::LoadState(base::ByteReader* in) {
  FLYWHEEL_RETURN_IF_ERROR(CheckVersion(in, "itemknn"));
  FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&counts_, "itemknn counts"));
  const size_t n = counts_.size();
  cooc_.assign(n, SparseRow());
  inv_sqrt_n_.assign(n, 0.0f);
  static_assert(sizeof(SparseRow::Slot) == 8);  // the snapshot's entry size
  std::vector<SparseRow::Slot> entries;
  for (size_t i = 0; i < n; ++i) {
    if (!(counts_[i] >= 0.0f) || !std::isfinite(counts_[i])) {
      return in->Error("itemknn: invalid item count");
    }
    inv_sqrt_n_[i] = counts_[i] > 0 ? 1.0f / std::sqrt(counts_[i]) : 0.0f;
    FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&entries, "itemknn row"));
    for (const SparseRow::Slot& e : entries) {
      if (e.key >= n) {
        return in->Error("itemknn: co-occurrence key out of range");
      }
    }
    cooc_[i].Assign(entries);
  }
  return Status::Ok();
}

}  // namespace flywheel::model
