#include "engine/serve/vector_index.h"

#include <algorithm>
#include <cmath>

namespace flywheel::engine {

Result<std::unique_ptr<ItemVectorIndex>> ItemVectorIndex::Create(const std::string& kind,
                                                                 uint32_t dim,
                                                                 float move_threshold) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<ann::AnnIndex> index, ann::MakeAnnIndex(kind, dim));
  return std::unique_ptr<ItemVectorIndex>(
      new ItemVectorIndex(std::move(index), dim, move_threshold));
}

void ItemVectorIndex::MarkDirty(ItemIdx item) {
  base::MutexLock lock(&dirty_mu_);
  if (item >= pending_.size()) {
    pending_.resize(std::max<size_t>(item + 1, pending_.size() * 2), 0);
  }
  if (pending_[item] == 0) {
    pending_[item] = 1;
    dirty_.push_back(item);
  }
}

size_t ItemVectorIndex::Refresh(const model::Recommender& model, base::RwLock& state_mu,
                                size_t budget) {
  size_t known = 0;
  {
    base::ReaderLock state(&state_mu);
    known = model.num_items();
  }
  const size_t unindexed = known > scan_next_ ? known - scan_next_ : 0;
  std::vector<ItemIdx> batch;
  {
    base::MutexLock lock(&dirty_mu_);
    // Until every item was indexed once, only catch up (that reads current vectors anyway);
    // then items that moved, keeping half the budget for new items while there are some.
    const size_t room = ready() ? budget - std::min(budget / 2, unindexed) : 0;
    const size_t take = std::min(room, dirty_.size());
    batch.assign(dirty_.end() - static_cast<std::ptrdiff_t>(take), dirty_.end());
    dirty_.resize(dirty_.size() - take);
    for (ItemIdx item : batch) {
      pending_[item] = 0;
    }
  }
  while (batch.size() < budget && scan_next_ < known) {
    batch.push_back(scan_next_++);
  }
  if (batch.empty()) {
    if (scan_next_ >= known && known > 0) {
      ready_.store(true, std::memory_order_release);
    }
    return 0;
  }
  constexpr size_t kChunk = 64;
  std::vector<float> vectors(kChunk * dim_);
  std::vector<uint8_t> have(kChunk);
  for (size_t start = 0; start < batch.size(); start += kChunk) {
    const size_t n = std::min(kChunk, batch.size() - start);
    {
      base::ReaderLock state(&state_mu);
      for (size_t j = 0; j < n; ++j) {
        have[j] =
            model.RetrievalItem(batch[start + j], std::span<float>(vectors.data() + j * dim_, dim_))
                ? 1
                : 0;
      }
    }
    for (size_t j = 0; j < n; ++j) {
      const ItemIdx item = batch[start + j];
      if (have[j] == 0) {
        continue;
      }
      const std::span<const float> v(vectors.data() + j * dim_, dim_);
      if (item >= indexed_.size()) {
        indexed_.resize(std::max<size_t>(item + 1, indexed_.size() * 2), 0);
        indexed_vectors_.resize(indexed_.size() * dim_, 0.0f);
      }
      float* old = indexed_vectors_.data() + static_cast<size_t>(item) * dim_;
      if (indexed_[item] != 0) {
        double diff = 0;
        double norm = 0;
        for (uint32_t d = 0; d < dim_; ++d) {
          diff += static_cast<double>(v[d] - old[d]) * (v[d] - old[d]);
          norm += static_cast<double>(old[d]) * old[d];
        }
        if (diff <= static_cast<double>(move_threshold_) * move_threshold_ * norm) {
          continue;  // moved too little to be worth a graph update
        }
      }
      if (index_->Upsert(item, v).ok()) {
        std::copy(v.begin(), v.end(), old);
        indexed_[item] = 1;
        upserts_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  if (scan_next_ >= known) {
    ready_.store(true, std::memory_order_release);
  }
  return batch.size();
}

void ItemVectorIndex::Search(std::span<const float> query, int k,
                             const std::function<bool(ItemIdx)>& allowed,
                             std::vector<model::ScoredItem>* out) const {
  out->clear();
  std::vector<ann::Neighbor> hits;
  if (!index_
           ->Search(
               query, k, [&](uint32_t id) { return allowed(id); }, &hits)
           .ok()) {
    return;
  }
  out->reserve(hits.size());
  for (const ann::Neighbor& h : hits) {
    out->push_back(model::ScoredItem{h.id, h.score});
  }
}

}  // namespace flywheel::engine
