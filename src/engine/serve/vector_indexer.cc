#include "engine/serve/vector_indexer.h"

#include <algorithm>
#include <chrono>

namespace flywheel::engine {

VectorIndexer::VectorIndexer(LearnedState* state, const PipelineOptions& options)
    : state_(state), options_(options) {}

VectorIndexer::~VectorIndexer() {
  Stop();
}

void VectorIndexer::Start() {
  bool any_vectors = false;
  {
    base::ReaderLock lock(&state_->mu);
    published_ = std::vector<std::atomic<ItemVectorIndex*>>(state_->models.size());
    indexes_.resize(state_->models.size());
    for (const auto& m : state_->models) {
      any_vectors = any_vectors || m->retrieval_dim() > 0;
    }
  }
  if (options_.ann != "none" && any_vectors) {
    thread_ = std::thread([this] { Loop(); });
  }
}

void VectorIndexer::Stop() {
  {
    base::MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void VectorIndexer::MarkDirty(ItemIdx item) {
  for (const auto& index : published_) {
    if (ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
      v->MarkDirty(item);
    }
  }
}

void VectorIndexer::MarkAllDirty(size_t which, size_t items) {
  if (ItemVectorIndex* v = published_[which].load(std::memory_order_acquire)) {
    for (ItemIdx i = 0; i < items; ++i) {
      v->MarkDirty(i);  // every vector moved: the indexer re-indexes them
    }
  }
}

const VectorSearch* VectorIndexer::SearchFor(size_t which, const model::Recommender& model) const {
  if (which >= published_.size()) {
    return nullptr;
  }
  const ItemVectorIndex* index = published_[which].load(std::memory_order_acquire);
  if (index == nullptr || !index->ready() || model.num_items() < options_.ann_min_items) {
    return nullptr;
  }
  return index;
}

uint64_t VectorIndexer::indexed_items() const {
  uint64_t n = 0;
  for (const auto& index : published_) {
    if (const ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
      n += v->indexed();
    }
  }
  return n;
}

uint64_t VectorIndexer::upserts() const {
  uint64_t n = 0;
  for (const auto& index : published_) {
    if (const ItemVectorIndex* v = index.load(std::memory_order_acquire)) {
      n += v->upserts();
    }
  }
  return n;
}

size_t VectorIndexer::RefreshOnce() {
  size_t work = 0;
  for (size_t i = 0; i < indexes_.size(); ++i) {
    // Pretrain replaces a model under the exclusive lock (the old one stays alive in the
    // state's retired models), so the pointer is read under the shared lock.
    const model::Recommender* m = nullptr;
    {
      base::ReaderLock lock(&state_->mu);
      m = state_->models[i].get();
    }
    const size_t dim = m->retrieval_dim();
    if (dim == 0) {
      continue;
    }
    if (indexes_[i] == nullptr) {
      size_t known = 0;
      {
        base::ReaderLock lock(&state_->mu);
        known = m->num_items();
      }
      if (known < std::max<size_t>(options_.ann_min_items, 1)) {
        continue;
      }
      auto index = ItemVectorIndex::Create(options_.ann, static_cast<uint32_t>(dim));
      if (!index.ok()) {
        continue;  // ValidatePipelineOptions accepted the kind: cannot happen
      }
      indexes_[i] = std::move(index).value();
      published_[i].store(indexes_[i].get(), std::memory_order_release);
    }
    work += indexes_[i]->Refresh(*m, state_->mu, 64);
    base::ReaderLock lock(&state_->mu);
    if (state_->models[i].get() != m) {  // replaced meanwhile: that refresh read the old vectors
      for (ItemIdx item = 0; item < state_->item_ids.size(); ++item) {
        indexes_[i]->MarkDirty(item);
      }
    }
  }
  return work;
}

void VectorIndexer::Loop() {
  while (true) {
    const auto cycle_start = std::chrono::steady_clock::now();
    const size_t work = RefreshOnce();
    // Refreshes take at most about a tenth of a core: each HNSW update costs ~0.4 ms and holds
    // the index's writer lock, which searches wait for.
    const auto spent = std::chrono::steady_clock::now() - cycle_start;
    base::MutexLock lock(&mu_);
    if (stop_) {
      return;
    }
    // Until an index covers its catalogue it is built at full speed (searches scan exactly
    // meanwhile).
    const bool building = std::any_of(indexes_.begin(), indexes_.end(),
                                      [](const auto& v) { return v != nullptr && !v->ready(); });
    cv_.WaitFor(&mu_, work == 0  ? std::chrono::milliseconds(20)
                      : building ? std::chrono::milliseconds(0)
                                 : std::max<std::chrono::steady_clock::duration>(
                                       9 * spent, std::chrono::milliseconds(1)));
  }
}

}  // namespace flywheel::engine
