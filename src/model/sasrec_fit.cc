// Sasrec::Fit: batch pre-training with a validation split and early stopping (see sasrec.h).
#include <algorithm>
#include <cmath>
#include <thread>

#include "model/sasrec.h"
#include "model/sasrec_internal.h"

namespace flywheel::model {
namespace {

// Chunks of at most max_len + 1 items from the end of `seq` (consecutive chunks share one item
// so that every item after the first is a target exactly once).
void AddChunks(const std::vector<ItemIdx>& seq, int max_len, int max_chunks,
               std::vector<Sasrec::Example>* out) {
  size_t end = seq.size();
  int chunks = 0;
  while (end >= 2 && (max_chunks == 0 || chunks < max_chunks)) {
    const size_t begin = end > static_cast<size_t>(max_len) + 1 ? end - max_len - 1 : 0;
    out->push_back({std::vector<ItemIdx>(seq.begin() + static_cast<int64_t>(begin),
                                         seq.begin() + static_cast<int64_t>(end)),
                    0});
    ++chunks;
    if (begin == 0) {
      break;
    }
    end = begin + 1;
  }
}

}  // namespace

double Sasrec::ValidationNdcg(const std::vector<std::vector<ItemIdx>>& train_seqs,
                              const std::vector<std::pair<uint32_t, ItemIdx>>& valid) const {
  if (valid.empty()) {
    return 0.0;
  }
  const int threads = std::max(1, options_.threads);
  std::vector<double> sums(threads, 0.0);
  auto work = [&](int t) {
    const nn::ScopedFlushDenormals flush;  // per thread
    std::vector<float> scores(rows_);
    for (size_t v = t; v < valid.size(); v += threads) {
      const auto& seq = train_seqs[valid[v].first];
      const size_t keep = std::min(seq.size(), static_cast<size_t>(options_.encoder.max_len));
      ScoreSequence(std::span(seq).last(keep), scores);
      const float target = scores[valid[v].second];
      for (ItemIdx seen : seq) {
        scores[seen] = -std::numeric_limits<float>::infinity();
      }
      int rank = 0;
      for (size_t i = 0; i < rows_ && rank < 10; ++i) {
        rank += scores[i] > target || (scores[i] == target && i < valid[v].second);
      }
      sums[t] += rank < 10 ? 1.0 / std::log2(rank + 2.0) : 0.0;
    }
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back(work, t);
  }
  work(0);
  for (auto& w : workers) {
    w.join();
  }
  double total = 0;
  for (double s : sums) {
    total += s;
  }
  return total / static_cast<double>(valid.size());
}

Status Sasrec::Fit(std::span<const data::Interaction> history) {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  delta_all_ = true;                     // the next delta export ships everything
  std::vector<std::vector<ItemIdx>> seqs;
  for (const data::Interaction& e : history) {
    if (e.weight <= 0) {
      continue;
    }
    NoteItem(e.item);
    if (e.user >= seqs.size()) {
      seqs.resize(static_cast<size_t>(e.user) + 1);
    }
    seqs[e.user].push_back(e.item);
  }
  // Validation: the last item of up to valid_users users with >= 3 items.
  std::vector<uint32_t> candidates;
  for (uint32_t u = 0; u < seqs.size(); ++u) {
    if (seqs[u].size() >= 3) {
      candidates.push_back(u);
    }
  }
  base::Rng pick(base::Mix64(options_.seed ^ 0x7A11DULL));
  for (size_t i = candidates.size(); i > 1; --i) {
    std::swap(candidates[i - 1], candidates[pick.Uniform(i)]);
  }
  candidates.resize(std::min(candidates.size(), static_cast<size_t>(options_.valid_users)));
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::vector<ItemIdx>> train = seqs;
  std::vector<std::pair<uint32_t, ItemIdx>> valid;
  for (uint32_t u : candidates) {
    valid.emplace_back(u, train[u].back());
    train[u].pop_back();
  }
  std::vector<Example> examples;
  for (const auto& seq : train) {
    AddChunks(seq, options_.encoder.max_len, options_.max_chunks, &examples);
  }
  RunEpochs(examples, train, valid);
  for (size_t u = 0; u < seqs.size(); ++u) {
    const auto& seq = seqs[u];
    if (seq.size() >= 2) {
      const size_t keep = std::min(seq.size(), static_cast<size_t>(options_.encoder.max_len) + 1);
      Remember(static_cast<UserIdx>(u),
               std::vector<ItemIdx>(seq.end() - static_cast<int64_t>(keep), seq.end()));
    }
  }
  return Status::Ok();
}

void Sasrec::RunEpochs(const std::vector<Example>& examples,
                       const std::vector<std::vector<ItemIdx>>& train,
                       const std::vector<std::pair<uint32_t, ItemIdx>>& valid) {
  std::vector<const Example*> order;
  order.reserve(examples.size());
  for (const Example& e : examples) {
    order.push_back(&e);
  }
  double best = -1.0;
  int bad = 0;
  int last_epoch = -1;
  std::vector<float> best_params, best_items, best_features;
  for (int epoch = 0; epoch < options_.epochs && !order.empty(); ++epoch) {
    base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(0xE90C00ULL + epoch)));
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.Uniform(i)]);
    }
    for (size_t b = 0; b < order.size(); b += options_.batch) {
      const size_t n = std::min(order.size() - b, static_cast<size_t>(options_.batch));
      TrainStep(std::span(order).subspan(b, n), options_.threads, options_.lr);
    }
    last_epoch = epoch;
    if (valid.empty()) {
      continue;
    }
    const double ndcg = ValidationNdcg(train, valid);
    valid_history_.push_back(ndcg);
    if (ndcg > best) {
      best = ndcg;
      best_epoch_ = epoch;
      best_params = encoder_.params();
      best_items = IdRows();
      best_features = feat_;
      bad = 0;
    } else if (++bad >= options_.patience) {
      break;
    }
  }
  ++version_;
  if (last_epoch >= 0) {
    // Pre-trained now: without a validation split the last epoch is the one kept. The online
    // anchor is re-captured from these weights at the next online step.
    if (valid.empty()) {
      best_epoch_ = last_epoch;
    }
    anchor_enc_.clear();
    anchor_items_.clear();
  }
  if (!best_params.empty()) {
    encoder_.params() = best_params;
    IdRows() = best_items;
    if (options_.content) {
      feat_ = best_features;
      RefreshAllRows();
    }
  }
}

}  // namespace flywheel::model
