// AnnIndex: maximum-inner-product top-k search over item vectors keyed by a dense uint32 id (the
// engine's ItemIdx). Two implementations: FlatIndex (exact; the oracle) and HnswIndex (graph
// search over hnswlib; approximate). Design, parameters and measured recall/latency: doc/ann.md.
//
// Vectors: dim() floats each, row-major; the score of an item for a query is the inner product
// <query, item> computed in float, summed over components in index order. Results are ordered
// best first: score descending, ties by id ascending.
//
// Ids are dense: memory grows with the largest id ever upserted (like a vector indexed by id), so
// use the engine's ItemIdx, not external 64-bit ids. kNoItem (UINT32_MAX) is not a valid id.
//
// Thread safety: ONE writer thread may call Upsert/Remove while MANY reader threads call Search
// and size() concurrently; this is data-race free (TSan-checked test). Writer calls must be
// serialised by the caller. Each implementation documents what its readers and writer wait for.
//
// Errors: user input (wrong dimension, non-finite values, kNoItem, k < 0) comes back as
// kInvalidArgument; failures inside hnswlib (which throws) come back as kInternal or, for
// allocation failures, kResourceExhausted. Nothing throws out of this module.
//
// Example:
//   ann::AnnParams params;                                  // defaults: doc/ann.md
//   FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<ann::AnnIndex> index,
//                             ann::MakeAnnIndex("hnsw", /*dim=*/64, params));
//   FLYWHEEL_RETURN_IF_ERROR(index->Upsert(item, item_vector));   // writer thread
//   index->Remove(deleted_item);                                  // writer thread
//   std::vector<ann::Neighbor> top;                               // any reader thread:
//   FLYWHEEL_RETURN_IF_ERROR(index->Search(user_vector, /*k=*/10,
//                                          [&](uint32_t id) { return !seen.contains(id); }, &top));
//   for (const ann::Neighbor& n : top) { /* n.id, n.score */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/status.h"

namespace flywheel::ann {

struct Neighbor {
  uint32_t id = 0;
  float score = 0.0f;  // <query, item>
  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// True if `a` ranks before `b`: higher score first, then lower id.
inline bool BetterNeighbor(const Neighbor& a, const Neighbor& b) {
  return a.score != b.score ? a.score > b.score : a.id < b.id;
}

// A non-owning reference to a callable `bool(uint32_t id)` that returns true for ids a search may
// return (like the proposed std::function_ref: two words, no allocation). A default-constructed
// IdFilter accepts every id. The callable must outlive the Search call; passing a lambda
// directly as the argument is the intended use. It is called from the searching thread only,
// possibly more than once per id, and must not call back into the index.
class IdFilter {
 public:
  IdFilter() = default;
  template <typename F>
  requires(std::is_object_v<F> && !std::is_same_v<std::remove_cvref_t<F>, IdFilter> &&
           std::is_invocable_r_v<bool, const F&, uint32_t>)
      IdFilter(const F& f)  // NOLINT(google-explicit-constructor): lambdas convert at call sites
      : call_([](Target target, uint32_t id) -> bool {
          return (*static_cast<const F*>(target.object))(id);
        }) {
    target_.object = &f;
  }
  IdFilter(bool (*function)(uint32_t))  // NOLINT(google-explicit-constructor): as above
  {
    if (function != nullptr) {
      target_.function = function;
      call_ = [](Target target, uint32_t id) { return target.function(id); };
    }
  }

  // True if `id` may be returned.
  bool operator()(uint32_t id) const { return call_ == nullptr || call_(target_, id); }
  // False for the accept-all filter.
  bool active() const { return call_ != nullptr; }

 private:
  union Target {
    const void* object;
    bool (*function)(uint32_t);
  };
  Target target_ = {nullptr};
  bool (*call_)(Target, uint32_t) = nullptr;
};

class AnnIndex {
 public:
  virtual ~AnnIndex() = default;

  // The number of floats per vector.
  virtual uint32_t dim() const = 0;

  // Inserts `id` with `vector`, or replaces its vector if `id` is present (a removed id comes
  // back). Returns kInvalidArgument if vector.size() != dim(), a value is NaN or infinite, or
  // id == kNoItem, and kResourceExhausted if memory for ids up to `id` cannot be allocated; the
  // index is unchanged then. Writer thread only.
  virtual Status Upsert(uint32_t id, std::span<const float> vector) = 0;

  // Removes `id`: no later Search returns it. Returns false if `id` was not present (no-op).
  // Writer thread only.
  virtual bool Remove(uint32_t id) = 0;

  // Fills `out` (cleared first) with up to `k` present ids that pass `filter` and have the
  // highest <query, item>, best first (score descending, id ascending). Fewer than k only when
  // fewer than k present ids pass the filter (HnswIndex: approximately; see hnsw_index.h).
  // Returns kInvalidArgument if query.size() != dim(), a value is not finite, or k < 0.
  // Thread-safe with other Search calls and with the writer.
  virtual Status Search(std::span<const float> query, int k, IdFilter filter,
                        std::vector<Neighbor>* out) const = 0;

  // The number of present (upserted and not removed) ids.
  virtual size_t size() const = 0;
};

// Parameters of MakeAnnIndex. FlatIndex has none; the HNSW ones are explained in doc/ann.md.
struct AnnParams {
  int m = 16;                      // graph degree (level 0 has 2 * m links)
  int ef_construction = 200;       // candidate list size while inserting
  int ef_search = 100;             // candidate list size while searching (at least k is used)
  uint64_t seed = 100;             // hnswlib's level generator: same seed + same calls = same graph
  size_t initial_capacity = 1024;  // hnswlib elements preallocated; doubles when full
};

// Creates an index: kind "flat" (exact) or "hnsw". Returns kInvalidArgument for an unknown kind,
// dim == 0, or out-of-range parameters.
Result<std::unique_ptr<AnnIndex>> MakeAnnIndex(std::string_view kind, uint32_t dim,
                                               const AnnParams& params = {});

// Validation shared by the implementations (the messages name `what`).
Status CheckVector(std::span<const float> vector, uint32_t dim, std::string_view what);

}  // namespace flywheel::ann
