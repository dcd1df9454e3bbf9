#include "eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace flywheel::eval {

int RankOf(std::span<const model::ScoredItem> top, ItemIdx target, int k) {
  const size_t limit = std::min(top.size(), static_cast<size_t>(std::max(k, 0)));
  for (size_t i = 0; i < limit; ++i) {
    if (top[i].item == target) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

double NdcgOfRank(int rank) {
  return rank > 0 ? 1.0 / std::log2(rank + 1.0) : 0.0;
}

void HitAccumulator::Add(int rank) {
  ++count_;
  if (rank > 0) {
    hits_ += 1;
    ndcg_ += NdcgOfRank(rank);
    mrr_ += 1.0 / rank;
  }
}

SetMetrics ScoreAgainstSet(std::span<const model::ScoredItem> top, int k,
                           const std::unordered_set<ItemIdx>& targets) {
  SetMetrics m;
  const size_t limit = std::min(top.size(), static_cast<size_t>(std::max(k, 0)));
  double dcg = 0;
  int hits = 0;
  for (size_t i = 0; i < limit; ++i) {
    if (targets.count(top[i].item) != 0) {
      ++hits;
      dcg += NdcgOfRank(static_cast<int>(i) + 1);
    }
  }
  double idcg = 0;
  const size_t ideal = std::min(targets.size(), static_cast<size_t>(std::max(k, 0)));
  for (size_t i = 0; i < ideal; ++i) {
    idcg += NdcgOfRank(static_cast<int>(i) + 1);
  }
  m.precision = k > 0 ? hits / static_cast<double>(k) : 0.0;
  m.recall = targets.empty() ? 0.0 : hits / static_cast<double>(targets.size());
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.ndcg = idcg > 0 ? dcg / idcg : 0.0;
  return m;
}

double RatingErrorAccumulator::rmse() const {
  return count_ ? std::sqrt(sum_squared_ / static_cast<double>(count_)) : 0.0;
}

void CoverageCounter::Add(std::span<const model::ScoredItem> top) {
  for (const auto& entry : top) {
    if (entry.item >= seen_.size()) {
      seen_.resize(static_cast<size_t>(entry.item) + 1, false);
    }
    if (!seen_[entry.item]) {
      seen_[entry.item] = true;
      ++distinct_;
    }
  }
}

double CoverageCounter::Coverage(size_t num_items) const {
  return num_items ? static_cast<double>(distinct_) / static_cast<double>(num_items) : 0.0;
}

void PopularityPercentile::FenwickAdd(size_t count_value, int64_t delta) {
  if (count_value >= tree_.size()) {
    // Grow by rebuilding (amortised: doubling).
    std::vector<int64_t> raw(std::max<size_t>(count_value + 1, tree_.size() * 2), 0);
    for (int64_t c : counts_) {
      if (c > 0) {
        ++raw[static_cast<size_t>(c)];
      }
    }
    tree_.assign(raw.size(), 0);
    for (size_t i = 1; i < raw.size(); ++i) {
      tree_[i] += raw[i];
      const size_t parent = i + (i & (~i + 1));
      if (parent < tree_.size()) {
        tree_[parent] += tree_[i];
      }
    }
    // The caller's update has already been applied to counts_, so the rebuild includes it.
    return;
  }
  for (size_t i = count_value; i < tree_.size(); i += i & (~i + 1)) {
    tree_[i] += delta;
  }
}

int64_t PopularityPercentile::FenwickPrefix(size_t count_value) const {
  int64_t sum = 0;
  for (size_t i = std::min(count_value, tree_.size() - 1); i > 0; i -= i & (~i + 1)) {
    sum += tree_[i];
  }
  return sum;
}

void PopularityPercentile::Increment(ItemIdx item) {
  if (item >= counts_.size()) {
    counts_.resize(static_cast<size_t>(item) + 1, 0);
  }
  const int64_t old = counts_[item]++;
  if (old == 0) {
    ++known_;
  }
  const auto new_value = static_cast<size_t>(counts_[item]);
  if (new_value >= tree_.size()) {
    FenwickAdd(new_value, 1);  // rebuilds from counts_, which already holds the new count
    return;
  }
  if (old > 0) {
    FenwickAdd(static_cast<size_t>(old), -1);
  }
  FenwickAdd(new_value, 1);
}

double PopularityPercentile::Percentile(ItemIdx item) const {
  if (known_ == 0 || tree_.empty()) {
    return 0.0;
  }
  const int64_t count = item < counts_.size() ? counts_[item] : 0;
  const int64_t below = count > 1 ? FenwickPrefix(static_cast<size_t>(count - 1)) : 0;
  // Items with count 0 are not "known"; an unknown item is at the bottom.
  return known_ > 1 ? static_cast<double>(below) / static_cast<double>(known_ - 1)
                    : (count > 0 ? 1.0 : 0.0);
}

}  // namespace flywheel::eval
