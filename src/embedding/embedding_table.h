// EmbeddingTable: a collisionless hash table from a 64-bit id to a row of dim() floats plus the
// row's optimizer state (no two ids ever share a row, unlike the hashing trick).
//
// Layout: rows live in slabs that never move (slab_store.h; row-major, a row is dim() weights
// followed by state_floats() optimizer floats); an open-addressing index maps id -> row slot
// (id_index.h); freed slots are reused through a free list. Parameters are explained in
// doc/embedding.md.
//
// Life of an id:
//   - Admission: an id gets a row on its admission_count-th ApplyGradient (counted by a
//     count-min sketch in fixed memory; see count_min_sketch.h for why not an exact map). Before
//     that, Lookup returns the caller's fallback vector (e.g. a content vector) or zeros, and
//     updates are counted (pending_updates()) but not applied.
//   - A new row is initialised to normal(0, init_std) from base::Rng(Mix64(seed ^ id)), so values
//     depend only on (seed, id), never on insertion order; optimizer state starts at zero.
//   - TTL: EvictExpired(now) removes rows whose last update is more than ttl_ms before `now`
//     (logical time given by the caller, e.g. event ts_ms). Lookups do not refresh a row.
//   - Budget: at most max_rows rows. When full, new ids are refused (refused_full()) and keep
//     using the fallback, like not-yet-admitted ids; live rows are never evicted to make room
//     (their learned state is worth more than a cold row, and refusing is O(1)); TTL sweeps
//     free space.
//
// Thread safety: one writer, many readers. Lookup/Contains/stats/SaveSnapshot take a shared
// lock; ApplyGradient(s)/EvictExpired take the exclusive lock (ApplyGradients once per batch).
// Readers therefore never see a torn row. Trade-off: readers wait while a batch is applied (keep
// batches small for latency); a per-row seqlock would let readers run alongside the writer but
// needs atomics on every float to be race-free under the C++ memory model and TSan. Writer
// calls must be serialised by the caller (one trainer thread per table).
//
// Snapshot format: doc/formats/embedding_table.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/status.h"
#include "flywheel/types.h"

#include "embedding/internal/count_min_sketch.h"
#include "embedding/internal/id_index.h"
#include "embedding/internal/slab_store.h"
#include "embedding/optimizer.h"

namespace flywheel::embedding {

class SnapshotFile;  // snapshot.cc

struct EmbeddingTableOptions {
  uint32_t dim = 32;
  OptimizerOptions optimizer;
  float init_std = 0.01f;            // new rows: normal(0, init_std); 0 gives zero rows
  uint64_t seed = 0;                 // with the id, determines a new row's initial values
  uint32_t admission_count = 1;      // updates before an id gets a row; <= 1: on its first update
  uint32_t sketch_width = 1u << 16;  // count-min counters per hash row (admission_count > 1)
  uint32_t sketch_depth = 4;         // count-min hash rows
  int64_t ttl_ms = 0;                // > 0: EvictExpired removes rows idle longer; 0: never
  uint64_t max_rows = 0;             // > 0: row budget (see memory_bytes()); 0: unlimited
};

// kInvalidArgument naming the bad field (dim 0 or > 65536, bad optimizer option, ...).
Status ValidateEmbeddingTableOptions(const EmbeddingTableOptions& options);

enum class UpdateOutcome {
  kApplied,           // the row was updated (and created first if the id was just admitted)
  kPending,           // the id is not admitted yet: counted, not applied
  kRefusedFull,       // the id qualified but the table is at max_rows: counted, not applied
  kSkippedNonFinite,  // the optimizer's non-finite guard dropped the update
};

class EmbeddingTable {
 public:
  static Result<std::unique_ptr<EmbeddingTable>> Create(const EmbeddingTableOptions& options);

  // Restores a table written by SaveSnapshot. kCorruption (with the byte offset) on any
  // checksum, length or content error; kIoError if the file cannot be opened or read.
  static Result<std::unique_ptr<EmbeddingTable>> LoadSnapshot(const std::string& path);
  // Writes path + ".tmp", fsyncs, renames to `path`. kIoError on failure (the old file at
  // `path`, if any, is left intact). Takes the shared lock.
  Status SaveSnapshot(const std::string& path) const;
  // The same snapshot bytes appended to / read from memory (model state inside an engine
  // snapshot, doc/formats/snapshot.md). `what` names the source in error messages.
  Status AppendSnapshot(std::string* out) const;
  static Result<std::unique_ptr<EmbeddingTable>> LoadSnapshotBytes(std::string_view bytes,
                                                                   const std::string& what);

  EmbeddingTable(const EmbeddingTable&) = delete;
  EmbeddingTable& operator=(const EmbeddingTable&) = delete;
  ~EmbeddingTable();

  // Copies the row of `id` into `out` and returns true. If `id` has no row, copies `fallback`
  // (if it has dim() floats) or zeros, and returns false. REQUIRES: out.size() == dim().
  bool Lookup(uint64_t id, std::span<float> out, std::span<const float> fallback = {}) const;
  // Lookup for a batch under one shared lock, prefetching ahead like ApplyGradients: row i goes
  // to out[i * dim(), (i + 1) * dim()). Returns how many ids had a row.
  // REQUIRES: out.size() == ids.size() * dim().
  size_t LookupBatch(std::span<const uint64_t> ids, std::span<float> out,
                     std::span<const float> fallback = {}) const;
  bool Contains(uint64_t id) const;

  // Writer: one optimizer step on the row of `id` with learning rate `lr` at logical time `now`
  // (becomes the row's last-seen time). REQUIRES: grad.size() == dim().
  UpdateOutcome ApplyGradient(uint64_t id, std::span<const float> grad, float lr, TimestampMs now);
  // Writer: the same for a batch under one lock acquisition; grads[i * dim() + j] is component j
  // of the gradient of ids[i]. Same result as calling ApplyGradient in order, but faster on
  // large tables: index entries and rows of later ids are prefetched while earlier ones are
  // updated, overlapping the cache misses. REQUIRES: grads.size() == ids.size() * dim().
  // If `updated` is not empty, it receives the rows after the batch as LookupBatch would return
  // them (zeros for ids without a row), read under the same lock: a caller mirroring rows saves
  // a second lock and index probe. REQUIRES: updated.empty() or updated.size() == grads.size().
  void ApplyGradients(std::span<const uint64_t> ids, std::span<const float> grads, float lr,
                      TimestampMs now, std::span<float> updated = {});
  // Writer: evicts rows with now - last_seen > ttl_ms (no-op when ttl_ms == 0); O(slots).
  // Returns the number evicted. Their slots are reused by later admissions.
  size_t EvictExpired(TimestampMs now);
  // Writer: removes the row of `id` (weights and optimizer state zeroed, slot reused later);
  // false when `id` has no row. A later update starts a fresh row (forgetting a user).
  bool Remove(uint64_t id);

  uint32_t dim() const { return options_.dim; }
  size_t state_floats() const { return state_floats_; }
  const EmbeddingTableOptions& options() const { return options_; }
  size_t size() const;  // rows
  // Bytes one row costs: weights + state + id + last-seen + its share of the index (two
  // 16-byte entries, the index being kept at most half full).
  size_t bytes_per_row() const;
  // Bytes allocated now: slabs (reserved; slabs double in size, so up to about twice the rows in
  // use, untouched pages cost no RAM), per-slot metadata, index, admission sketch.
  size_t memory_bytes() const;
  uint64_t skipped_non_finite() const;
  uint64_t pending_updates() const;
  uint64_t refused_full() const;
  uint64_t evicted() const;

 private:
  explicit EmbeddingTable(const EmbeddingTableOptions& options);

  // All REQUIRE mu_ held (exclusive for mutators).
  bool LookupLocked(uint64_t id, std::span<float> out, std::span<const float> fallback) const;
  UpdateOutcome ApplyLocked(uint64_t id, std::span<const float> grad, float lr, TimestampMs now);
  // Admits `id` if it qualifies and fits; returns its slot or kNoSlot.
  uint32_t AdmitLocked(uint64_t id, UpdateOutcome* outcome);
  uint32_t AllocateSlotLocked(uint64_t id);
  void InitRowLocked(uint32_t slot, uint64_t id);
  float* RowLocked(uint32_t slot) const;
  // Prefetches the row and metadata of `id` if it has a row (batch pipelining).
  void PrefetchRowLocked(uint64_t id) const;
  size_t slots() const { return slot_ids_.size(); }
  Status RestoreRowLocked(uint64_t id, TimestampMs last_seen, const float* row);

  // Snapshot helpers (snapshot.cc). LoadFromFile takes ownership of `file`.
  static Result<std::unique_ptr<EmbeddingTable>> LoadFromFile(std::FILE* file,
                                                              const std::string& path);
  Status WriteSnapshotLocked(std::FILE* file) const;
  Status ReadRowsLocked(SnapshotFile& file, uint64_t row_count, uint32_t rows_per_block);

  const EmbeddingTableOptions options_;
  const size_t state_floats_;
  const size_t row_floats_;  // dim + state_floats
  mutable std::shared_mutex mu_;
  RowOptimizer optimizer_;                   // GUARDED_BY(mu_)
  internal::SlabStore slabs_;                // GUARDED_BY(mu_)
  std::vector<uint64_t> slot_ids_;           // GUARDED_BY(mu_)
  std::vector<TimestampMs> slot_last_seen_;  // GUARDED_BY(mu_)
  std::vector<uint8_t> slot_live_;           // GUARDED_BY(mu_)
  std::vector<uint32_t> free_slots_;         // GUARDED_BY(mu_)
  internal::IdIndex index_;                  // GUARDED_BY(mu_)
  internal::CountMinSketch sketch_;          // GUARDED_BY(mu_)
  uint64_t pending_updates_ = 0;             // GUARDED_BY(mu_)
  uint64_t refused_full_ = 0;                // GUARDED_BY(mu_)
  uint64_t evicted_ = 0;                     // GUARDED_BY(mu_)
};

}  // namespace flywheel::embedding
