// The only translation unit that includes hnswlib: its header defines non-inline functions
// (cpuid, AVXCapable), so a second includer would break the link.
//
// NO_MANUAL_VECTORIZATION turns off hnswlib's SSE code. Its prefetches read one element past the
// end of upper-level link lists (heap-buffer-overflow under ASan in 0.6.2's searchBaseLayer), and
// its SSE inner product is replaced by our own space below (base::LaneDot<8>, vectorised by GCC).
#include "ann/hnsw_index.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <new>
#include <string>
#include <utility>

#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include "flywheel/types.h"

#include "ann/kernels.h"
#include "ann/top_k.h"
#include "base/check.h"
#include "base/dot.h"
#include "base/rw_lock.h"
#include "base/thread_annotations.h"

namespace flywheel::ann {
namespace {

enum IdState : uint8_t { kAbsent = 0, kPresent = 1, kRemoved = 2 };

// A filtered search scans all vectors instead when it would ask the graph for more than
// nodes / kScanRatio candidates. Measured at 100k x 64 (bench/results/ann.md): a filter passing
// 10 % needs a beam of ~1100, which costs 2.9 ms and finds 0.92 of the filtered top 10, while the
// scan costs 3.5 ms and is exact.
constexpr size_t kScanRatio = 128;

// Runs `fn`, turning what hnswlib throws into a Status.
template <typename Fn>
Status Guard(std::string_view what, Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("ann: hnsw " + std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return Status::Internal("ann: hnsw " + std::string(what) + ": " + e.what());
  }
}

// Graph distance: the negated inner product (smaller is closer, as hnswlib wants).
float NegativeDot(const void* a, const void* b, const void* dim) {
  return -base::LaneDot<8>(static_cast<const float*>(a), static_cast<const float*>(b),
                           *static_cast<const size_t*>(dim));
}

class NegativeDotSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit NegativeDotSpace(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &NegativeDot; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
};

}  // namespace

struct HnswIndex::Impl {
  Impl(uint32_t d, const AnnParams& p) : dim(d), params(p), space(d) {}

  const uint32_t dim;
  const AnnParams params;
  NegativeDotSpace space;  // must outlive graph
  mutable base::RwLock mu;
  // Graph, rows and state change only under the exclusive lock. The writer also reads them
  // without the lock (no other thread writes them): WriterRows(), WriterState().
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph PT_GUARDED_BY(mu);
  std::vector<float> rows GUARDED_BY(mu);     // rows[id * dim + k]: the vectors, for rescoring
  std::vector<uint8_t> state GUARDED_BY(mu);  // IdState per id
  std::atomic<size_t> live{0};

  const std::vector<float>& WriterRows() const NO_THREAD_SAFETY_ANALYSIS { return rows; }
  const std::vector<uint8_t>& WriterState() const NO_THREAD_SAFETY_ANALYSIS { return state; }
  const float* Row(uint32_t id) const REQUIRES_SHARED(mu) { return rows.data() + size_t{id} * dim; }
  // Exact top-k over all present ids that pass `filter` (for filters that reject most ids).
  void Scan(std::span<const float> query, size_t k, IdFilter filter,
            std::vector<Neighbor>* out) const REQUIRES_SHARED(mu);
  // Graph search with a beam of max(ef_search, fetch): the best `fetch` nodes as Neighbors
  // scored by the graph distance (-base::LaneDot<8>), in any order.
  Status Candidates(std::span<const float> query, size_t fetch, std::vector<Neighbor>* out) const
      REQUIRES_SHARED(mu);
};

Status HnswIndex::Impl::Candidates(std::span<const float> query, size_t fetch,
                                   std::vector<Neighbor>* out) const {
  out->clear();
  hnswlib::HierarchicalNSW<float>& g = *graph;  // checked here, not inside the lambda
  return Guard("search", [&] {
    auto heap = g.searchKnn(query.data(), fetch);
    while (!heap.empty()) {
      out->push_back({static_cast<uint32_t>(heap.top().second), -heap.top().first});
      heap.pop();
    }
  });
}

void HnswIndex::Impl::Scan(std::span<const float> query, size_t k, IdFilter filter,
                           std::vector<Neighbor>* out) const {
  TopK top(k, out);
  for (uint32_t id = 0; id < state.size(); ++id) {
    if (state[id] != kPresent) {
      continue;
    }
    const float score = base::LaneDot<8>(query.data(), Row(id), dim);  // vectorised; rescored below
    if (top.Admits(score, id) && filter(id)) {
      top.Push({id, score});
    }
  }
  for (Neighbor& n : *out) {
    n.score = RowDot(query.data(), Row(n.id), dim);
  }
  std::sort(out->begin(), out->end(), BetterNeighbor);
}

HnswIndex::HnswIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::Create(uint32_t dim, const AnnParams& params) {
  if (dim == 0 || params.m < 2 || params.m > 1024 || params.ef_construction < 1 ||
      params.ef_search < 1 || params.initial_capacity == 0) {
    return Status::InvalidArgument(
        "ann: hnsw needs dim > 0, 2 <= m <= 1024, ef_construction >= 1, ef_search >= 1, "
        "initial_capacity > 0");
  }
  auto impl = std::make_unique<Impl>(dim, params);
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  FLYWHEEL_RETURN_IF_ERROR(Guard("create", [&] {
    graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        &impl->space, params.initial_capacity, static_cast<size_t>(params.m),
        static_cast<size_t>(params.ef_construction), static_cast<size_t>(params.seed));
    graph->setEf(static_cast<size_t>(params.ef_search));
  }));
  impl->graph = std::move(graph);  // not shared yet: the pointer itself is not guarded
  return std::unique_ptr<HnswIndex>(new HnswIndex(std::move(impl)));
}

uint32_t HnswIndex::dim() const {
  return impl_->dim;
}

size_t HnswIndex::size() const {
  return impl_->live.load(std::memory_order_relaxed);
}

size_t HnswIndex::nodes() const {
  base::ReaderLock lock(&impl_->mu);
  return impl_->graph->cur_element_count;
}

size_t HnswIndex::capacity() const {
  base::ReaderLock lock(&impl_->mu);
  return impl_->graph->max_elements_;
}

Status HnswIndex::SetEfSearch(int ef_search) {
  if (ef_search < 1) {
    return Status::InvalidArgument("ann: ef_search must be >= 1");
  }
  base::WriterLock lock(&impl_->mu);
  impl_->graph->setEf(static_cast<size_t>(ef_search));
  return Status::Ok();
}

Status HnswIndex::Upsert(uint32_t id, std::span<const float> vector) {
  FLYWHEEL_RETURN_IF_ERROR(CheckVector(vector, impl_->dim, "vector"));
  if (id == kNoItem) {
    return Status::InvalidArgument("ann: id kNoItem is reserved");
  }
  Impl& s = *impl_;
  // Grow the per-id arrays before taking the lock (copies of writer-only state), swap under it.
  std::vector<float> grown_rows;
  std::vector<uint8_t> grown_state;
  const std::vector<uint8_t>& state = s.WriterState();
  if (id >= state.size()) {
    FLYWHEEL_RETURN_IF_ERROR(Guard("grow", [&] {
      const size_t n = std::max<size_t>(size_t{id} + 1, state.size() * 2);
      grown_state.reserve(n);
      grown_state = state;
      grown_state.resize(n, kAbsent);
      grown_rows.reserve(n * s.dim);
      grown_rows = s.WriterRows();
      grown_rows.resize(n * s.dim, 0.0f);
    }));
  }
  base::WriterLock lock(&s.mu);
  if (!grown_state.empty()) {
    s.state.swap(grown_state);
    s.rows.swap(grown_rows);
  }
  const bool new_node = s.state[id] == kAbsent;
  hnswlib::HierarchicalNSW<float>& graph = *s.graph;  // checked here, not inside the lambda
  FLYWHEEL_RETURN_IF_ERROR(Guard("upsert", [&] {
    if (new_node && graph.cur_element_count >= graph.max_elements_) {
      graph.resizeIndex(graph.max_elements_ * 2);
    }
    // A known label takes hnswlib's update path (unmarking a deleted node first).
    graph.addPoint(vector.data(), id);
  }));
  std::copy(vector.begin(), vector.end(),
            s.rows.begin() + static_cast<ptrdiff_t>(size_t{id} * s.dim));
  if (s.state[id] != kPresent) {
    s.live.fetch_add(1, std::memory_order_relaxed);
  }
  s.state[id] = kPresent;
  return Status::Ok();
}

bool HnswIndex::Remove(uint32_t id) {
  Impl& s = *impl_;
  const std::vector<uint8_t>& state = s.WriterState();  // writer-only: read without the lock
  if (id >= state.size() || state[id] != kPresent) {
    return false;
  }
  base::WriterLock lock(&s.mu);
  hnswlib::HierarchicalNSW<float>& graph = *s.graph;  // checked here, not inside the lambda
  // Cannot throw: the label exists and is not deleted (state says so).
  const Status status = Guard("remove", [&] { graph.markDelete(id); });
  FLYWHEEL_CHECK(status.ok()) << status.ToString();
  s.state[id] = kRemoved;
  s.live.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

Status HnswIndex::Search(std::span<const float> query, int k, IdFilter filter,
                         std::vector<Neighbor>* out) const {
  FLYWHEEL_RETURN_IF_ERROR(CheckVector(query, impl_->dim, "query"));
  if (k < 0) {
    return Status::InvalidArgument("ann: k must be >= 0");
  }
  const Impl& s = *impl_;
  const auto want = static_cast<size_t>(k);
  std::vector<Neighbor> candidates;
  base::ReaderLock lock(&s.mu);
  const size_t nodes = s.graph->cur_element_count;
  // The beam: ef_search, or k if larger. Each round asks for as many candidates as the beam
  // holds, so the round costs one graph search at that beam; a round with a filter is enough
  // once `beam` candidates passed it (the filtered population was searched with the full beam).
  const size_t beam = std::max(s.graph->ef_, want);
  size_t fetch = std::min(beam, nodes);
  for (;;) {
    TopK top(want, out);
    if (fetch == 0 || want == 0) {
      return Status::Ok();
    }
    FLYWHEEL_RETURN_IF_ERROR(s.Candidates(query, fetch, &candidates));
    size_t passed = 0;
    for (const Neighbor& c : candidates) {
      if (filter(c.id)) {
        ++passed;
        if (top.Admits(c.score, c.id)) {
          top.Push(c);
        }
      }
    }
    const bool exhausted = candidates.size() < fetch || fetch >= nodes;
    if (passed >= beam || exhausted) {
      // Exact scores (same kernel as FlatIndex) for the k kept, then the final order.
      for (Neighbor& n : *out) {
        n.score = RowDot(query.data(), s.Row(n.id), s.dim);
      }
      std::sort(out->begin(), out->end(), BetterNeighbor);
      return Status::Ok();
    }
    // Grow the list by the inverse pass rate seen so far (2x to 16x per round), or scan when the
    // graph search would cost about as much (kScanRatio).
    const size_t factor = std::clamp<size_t>((beam + passed) / std::max<size_t>(passed, 1), 2, 16);
    fetch = std::min(nodes, fetch * factor);
    if (fetch > nodes / kScanRatio) {
      s.Scan(query, want, filter, out);
      return Status::Ok();
    }
  }
}

}  // namespace flywheel::ann
