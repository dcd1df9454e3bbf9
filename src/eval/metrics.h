// Ranking metrics of ../shared/guides/evaluation.md, as small accumulators.
//
// Ranks are 1-based positions in the top-K list returned by a model; 0 means "not in the top K"
// (a miss). With one target per request: HR@K = [rank <= K], NDCG@K = 1/log2(rank + 1),
// MRR@K = 1/rank. With a set of targets (protocol T): Precision@K = hits/K,
// Recall@K = hits/|targets|, F1 = 2PR/(P+R), NDCG@K = DCG/IDCG with binary relevance and
// IDCG over min(K, |targets|) hits.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "flywheel/types.h"

#include "model/recommender.h"

namespace flywheel::eval {

// 1-based rank of `target` within the first `k` entries of `top`, or 0.
int RankOf(std::span<const model::ScoredItem> top, ItemIdx target, int k);

double NdcgOfRank(int rank);  // 0 for rank 0

// Mean HR / NDCG / MRR over requests with a single target.
class HitAccumulator {
 public:
  void Add(int rank);
  int64_t count() const { return count_; }
  double hr() const { return count_ ? hits_ / static_cast<double>(count_) : 0.0; }
  double ndcg() const { return count_ ? ndcg_ / static_cast<double>(count_) : 0.0; }
  double mrr() const { return count_ ? mrr_ / static_cast<double>(count_) : 0.0; }

 private:
  int64_t count_ = 0;
  double hits_ = 0;
  double ndcg_ = 0;
  double mrr_ = 0;
};

struct SetMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double ndcg = 0;
};

// Metrics of a top-K list against a set of relevant items. REQUIRES: !targets.empty()
SetMetrics ScoreAgainstSet(std::span<const model::ScoredItem> top, int k,
                           const std::unordered_set<ItemIdx>& targets);

// RMSE and MAE of rating predictions (explicit-rating mode).
class RatingErrorAccumulator {
 public:
  void Add(double predicted, double actual) {
    const double error = predicted - actual;
    sum_squared_ += error * error;
    sum_absolute_ += error < 0 ? -error : error;
    ++count_;
  }
  int64_t count() const { return count_; }
  double rmse() const;
  double mae() const { return count_ ? sum_absolute_ / static_cast<double>(count_) : 0.0; }

 private:
  double sum_squared_ = 0;
  double sum_absolute_ = 0;
  int64_t count_ = 0;
};

// Share of the catalogue ever recommended.
class CoverageCounter {
 public:
  void Add(std::span<const model::ScoredItem> top);
  // Distinct recommended items / num_items (0 when num_items is 0).
  double Coverage(size_t num_items) const;
  size_t distinct() const { return distinct_; }

 private:
  std::vector<bool> seen_;
  size_t distinct_ = 0;
};

// Popularity percentile of items at the moment they are recommended: the share of known items
// with a strictly smaller interaction count (1.0 = the most popular item). Counts are kept in a
// Fenwick tree over count values, so each update and query is O(log max_count).
class PopularityPercentile {
 public:
  void Increment(ItemIdx item);
  // Percentile of `item` among items with count >= 1; 0 when nothing is known.
  double Percentile(ItemIdx item) const;
  size_t known_items() const { return known_; }

 private:
  void FenwickAdd(size_t count_value, int64_t delta);
  int64_t FenwickPrefix(size_t count_value) const;  // items with count in [1, count_value]

  std::vector<int64_t> counts_;  // per item
  std::vector<int64_t> tree_;    // Fenwick tree over count values 1..n
  size_t known_ = 0;
};

}  // namespace flywheel::eval
