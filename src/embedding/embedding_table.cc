#include "embedding/embedding_table.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "base/check.h"
#include "base/random.h"

namespace flywheel::embedding {

using internal::IdIndex;

Status ValidateEmbeddingTableOptions(const EmbeddingTableOptions& options) {
  if (options.dim == 0 || options.dim > 65536) {
    return Status::InvalidArgument("embedding: dim must be in [1, 65536]");
  }
  if (!std::isfinite(options.init_std) || options.init_std < 0.0f) {
    return Status::InvalidArgument("embedding: init_std must be finite and >= 0");
  }
  if (options.admission_count > 1 && (options.sketch_width == 0 || options.sketch_depth == 0)) {
    return Status::InvalidArgument(
        "embedding: admission_count > 1 needs sketch_width > 0 and sketch_depth > 0");
  }
  if (static_cast<uint64_t>(options.sketch_width) * options.sketch_depth > (uint64_t{1} << 28)) {
    return Status::InvalidArgument("embedding: sketch_width * sketch_depth must be <= 2^28");
  }
  if (options.admission_count > 65535) {
    return Status::InvalidArgument("embedding: admission_count must be <= 65535");
  }
  if (options.ttl_ms < 0) {
    return Status::InvalidArgument("embedding: ttl_ms must be >= 0");
  }
  if (options.max_rows >= IdIndex::kNoSlot) {
    return Status::InvalidArgument("embedding: max_rows must be < 2^32 - 1");
  }
  return ValidateOptimizerOptions(options.optimizer);
}

Result<std::unique_ptr<EmbeddingTable>> EmbeddingTable::Create(
    const EmbeddingTableOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateEmbeddingTableOptions(options));
  return std::unique_ptr<EmbeddingTable>(new EmbeddingTable(options));
}

namespace {
// The sketch exists only when admission needs counting.
uint32_t SketchDim(const EmbeddingTableOptions& options, uint32_t value) {
  return options.admission_count > 1 ? value : 0;
}
}  // namespace

EmbeddingTable::EmbeddingTable(const EmbeddingTableOptions& options)
    : options_(options),
      state_floats_(OptimizerStateFloats(options.optimizer.kind, options.dim)),
      row_floats_(options.dim + state_floats_),
      optimizer_(options.optimizer, options.dim),
      slabs_(row_floats_),
      sketch_(SketchDim(options, options.sketch_width), SketchDim(options, options.sketch_depth)) {}

EmbeddingTable::~EmbeddingTable() = default;

float* EmbeddingTable::RowLocked(uint32_t slot) const {
  return slabs_.Row(slot);
}

bool EmbeddingTable::Lookup(uint64_t id, std::span<float> out,
                            std::span<const float> fallback) const {
  FLYWHEEL_DCHECK(out.size() == options_.dim) << "embedding: lookup output size";
  std::shared_lock lock(mu_);
  return LookupLocked(id, out, fallback);
}

size_t EmbeddingTable::LookupBatch(std::span<const uint64_t> ids, std::span<float> out,
                                   std::span<const float> fallback) const {
  FLYWHEEL_CHECK(out.size() == ids.size() * options_.dim) << "embedding: batch output size";
  constexpr size_t kAhead = 8;  // as in ApplyGradients
  std::shared_lock lock(mu_);
  size_t found = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + 2 * kAhead < ids.size()) {
      index_.Prefetch(ids[i + 2 * kAhead]);
    }
    if (i + kAhead < ids.size()) {
      PrefetchRowLocked(ids[i + kAhead]);
    }
    found += LookupLocked(ids[i], out.subspan(i * options_.dim, options_.dim), fallback) ? 1 : 0;
  }
  return found;
}

bool EmbeddingTable::LookupLocked(uint64_t id, std::span<float> out,
                                  std::span<const float> fallback) const {
  const uint32_t slot = index_.Find(id);
  if (slot != IdIndex::kNoSlot) {
    std::memcpy(out.data(), RowLocked(slot), options_.dim * sizeof(float));
    return true;
  }
  if (fallback.size() == options_.dim) {
    std::copy(fallback.begin(), fallback.end(), out.begin());
  } else {
    std::fill(out.begin(), out.end(), 0.0f);
  }
  return false;
}

bool EmbeddingTable::Contains(uint64_t id) const {
  std::shared_lock lock(mu_);
  return index_.Find(id) != IdIndex::kNoSlot;
}

UpdateOutcome EmbeddingTable::ApplyGradient(uint64_t id, std::span<const float> grad, float lr,
                                            TimestampMs now) {
  std::unique_lock lock(mu_);
  return ApplyLocked(id, grad, lr, now);
}

void EmbeddingTable::ApplyGradients(std::span<const uint64_t> ids, std::span<const float> grads,
                                    float lr, TimestampMs now, std::span<float> updated) {
  FLYWHEEL_CHECK(grads.size() == ids.size() * options_.dim) << "embedding: batch grads size";
  FLYWHEEL_CHECK(updated.empty() || updated.size() == grads.size())
      << "embedding: batch updated-rows size";
  // Two-stage software pipeline: the index entry of id i + 2 * kAhead and the row of id
  // i + kAhead are requested while id i is updated (random rows of a large table miss cache).
  constexpr size_t kAhead = 8;
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + 2 * kAhead < ids.size()) {
      index_.Prefetch(ids[i + 2 * kAhead]);
    }
    if (i + kAhead < ids.size()) {
      PrefetchRowLocked(ids[i + kAhead]);
    }
    ApplyLocked(ids[i], grads.subspan(i * options_.dim, options_.dim), lr, now);
  }
  // Read back after the whole batch (an id may occur twice: its final row both times).
  for (size_t i = 0; i < ids.size() && !updated.empty(); ++i) {
    LookupLocked(ids[i], updated.subspan(i * options_.dim, options_.dim), {});
  }
}

void EmbeddingTable::PrefetchRowLocked(uint64_t id) const {
  const uint32_t slot = index_.Find(id);
  if (slot == IdIndex::kNoSlot) {
    return;
  }
  const char* row = reinterpret_cast<const char*>(RowLocked(slot));
  constexpr size_t kLine = 64;
  for (size_t offset = 0; offset < row_floats_ * sizeof(float); offset += kLine) {
    __builtin_prefetch(row + offset, 1);
  }
  __builtin_prefetch(&slot_last_seen_[slot], 1);
}

UpdateOutcome EmbeddingTable::ApplyLocked(uint64_t id, std::span<const float> grad, float lr,
                                          TimestampMs now) {
  FLYWHEEL_CHECK(grad.size() == options_.dim) << "embedding: gradient size " << grad.size();
  UpdateOutcome outcome = UpdateOutcome::kApplied;
  uint32_t slot = index_.Find(id);
  if (slot == IdIndex::kNoSlot) {
    slot = AdmitLocked(id, &outcome);
    if (slot == IdIndex::kNoSlot) {
      return outcome;
    }
  }
  float* row = RowLocked(slot);
  slot_last_seen_[slot] = now;
  const bool applied =
      optimizer_.ApplyGradient(std::span<float>(row, options_.dim),
                               std::span<float>(row + options_.dim, state_floats_), grad, lr);
  return applied ? UpdateOutcome::kApplied : UpdateOutcome::kSkippedNonFinite;
}

uint32_t EmbeddingTable::AdmitLocked(uint64_t id, UpdateOutcome* outcome) {
  if (options_.admission_count > 1 && sketch_.Add(id) < options_.admission_count) {
    ++pending_updates_;
    *outcome = UpdateOutcome::kPending;
    return IdIndex::kNoSlot;
  }
  if (options_.max_rows > 0 && index_.size() >= options_.max_rows) {
    ++refused_full_;
    *outcome = UpdateOutcome::kRefusedFull;
    return IdIndex::kNoSlot;
  }
  const uint32_t slot = AllocateSlotLocked(id);
  InitRowLocked(slot, id);
  return slot;
}

uint32_t EmbeddingTable::AllocateSlotLocked(uint64_t id) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    FLYWHEEL_CHECK(slots() < IdIndex::kNoSlot) << "embedding: more than 2^32 - 1 rows";
    slot = static_cast<uint32_t>(slots());
    slabs_.EnsureSlot(slot);
    slot_ids_.push_back(0);
    slot_last_seen_.push_back(0);
    slot_live_.push_back(0);
  }
  slot_ids_[slot] = id;
  slot_live_[slot] = 1;
  index_.Insert(id, slot);
  return slot;
}

void EmbeddingTable::InitRowLocked(uint32_t slot, uint64_t id) {
  float* row = RowLocked(slot);
  base::Rng rng(base::Mix64(options_.seed ^ id));
  for (uint32_t j = 0; j < options_.dim; ++j) {
    row[j] = static_cast<float>(rng.Normal() * options_.init_std);
  }
  std::fill(row + options_.dim, row + row_floats_, 0.0f);
}

Status EmbeddingTable::RestoreRowLocked(uint64_t id, TimestampMs last_seen, const float* row) {
  if (index_.Find(id) != IdIndex::kNoSlot) {
    return Status::Corruption("duplicate id " + std::to_string(id));
  }
  const uint32_t slot = AllocateSlotLocked(id);
  slot_last_seen_[slot] = last_seen;
  std::memcpy(RowLocked(slot), row, row_floats_ * sizeof(float));
  return Status::Ok();
}

size_t EmbeddingTable::EvictExpired(TimestampMs now) {
  if (options_.ttl_ms <= 0) {
    return 0;
  }
  std::unique_lock lock(mu_);
  size_t count = 0;
  for (uint32_t slot = 0; slot < slots(); ++slot) {
    if (slot_live_[slot] == 0 || now - slot_last_seen_[slot] <= options_.ttl_ms) {
      continue;
    }
    index_.Erase(slot_ids_[slot]);
    slot_live_[slot] = 0;
    free_slots_.push_back(slot);
    ++count;
  }
  evicted_ += count;
  return count;
}

bool EmbeddingTable::Remove(uint64_t id) {
  std::unique_lock lock(mu_);
  const uint32_t slot = index_.Find(id);
  if (slot == IdIndex::kNoSlot) {
    return false;
  }
  std::fill(RowLocked(slot), RowLocked(slot) + row_floats_, 0.0f);
  index_.Erase(id);
  slot_live_[slot] = 0;
  free_slots_.push_back(slot);
  return true;
}

size_t EmbeddingTable::size() const {
  std::shared_lock lock(mu_);
  return index_.size();
}

size_t EmbeddingTable::bytes_per_row() const {
  return row_floats_ * sizeof(float) + sizeof(uint64_t) + sizeof(TimestampMs) + sizeof(uint8_t) +
         2 * IdIndex::kEntryBytes;
}

size_t EmbeddingTable::memory_bytes() const {
  std::shared_lock lock(mu_);
  const size_t per_slot = sizeof(uint64_t) + sizeof(TimestampMs) + sizeof(uint8_t);
  return slabs_.memory_bytes() + slots() * per_slot + free_slots_.capacity() * sizeof(uint32_t) +
         index_.memory_bytes() + sketch_.memory_bytes();
}

uint64_t EmbeddingTable::skipped_non_finite() const {
  std::shared_lock lock(mu_);
  return optimizer_.skipped_non_finite();
}

uint64_t EmbeddingTable::pending_updates() const {
  std::shared_lock lock(mu_);
  return pending_updates_;
}

uint64_t EmbeddingTable::refused_full() const {
  std::shared_lock lock(mu_);
  return refused_full_;
}

uint64_t EmbeddingTable::evicted() const {
  std::shared_lock lock(mu_);
  return evicted_;
}

}  // namespace flywheel::embedding
