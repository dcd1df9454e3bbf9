#include "ann/flat_index.h"

#include <cstring>
#include <new>
#include <string>

#include "flywheel/types.h"

#include "ann/kernels.h"
#include "ann/top_k.h"

namespace flywheel::ann {
namespace {

constexpr size_t kPanelsPerChunk = FlatIndex::kChunkItems / kPanel;
static_assert(FlatIndex::kChunkItems % kPanel == 0);

bool AnyPresent(const uint8_t* flags) {
  uint64_t word = 0;
  static_assert(kPanel == sizeof(word));
  std::memcpy(&word, flags, sizeof(word));
  return word != 0;
}

// Pushes the present items of one chunk that beat the current k-th into `top`.
void ScanChunk(const float* panels, const uint8_t* present, uint32_t first_id, size_t dim,
               const float* query, IdFilter filter, TopK* top) {
  float scores[kPanel];
  for (size_t p = 0; p < kPanelsPerChunk; ++p) {
    const uint8_t* flags = present + p * kPanel;
    if (!AnyPresent(flags)) {
      continue;
    }
    PanelDot(panels + p * kPanel * dim, query, dim, scores);
    for (size_t j = 0; j < kPanel; ++j) {
      const auto id = static_cast<uint32_t>(first_id + p * kPanel + j);
      if (flags[j] != 0 && top->Admits(scores[j], id) && filter(id)) {
        top->Push({id, scores[j]});
      }
    }
  }
}

}  // namespace

FlatIndex::FlatIndex(uint32_t dim) : dim_(dim) {}

FlatIndex::Chunk FlatIndex::NewChunk() const {
  Chunk chunk;
  chunk.panels = std::make_unique<float[]>(kChunkItems * dim_);  // zeroed
  chunk.present = std::make_unique<uint8_t[]>(kChunkItems);
  return chunk;
}

Status FlatIndex::Upsert(uint32_t id, std::span<const float> vector) {
  FLYWHEEL_RETURN_IF_ERROR(CheckVector(vector, dim_, "vector"));
  if (id == kNoItem) {
    return Status::InvalidArgument("ann: id kNoItem is reserved");
  }
  const size_t chunk_index = id / kChunkItems;
  // Only this (writer) thread changes chunks_, so reading its size unlocked is race-free, and
  // the allocation happens before readers are blocked.
  std::vector<Chunk> fresh;
  try {
    for (size_t c = WriterChunks().size(); c <= chunk_index; ++c) {
      fresh.push_back(NewChunk());
    }
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("ann: out of memory growing the flat index to id " +
                                     std::to_string(id));
  }
  const size_t slot = id % kChunkItems;
  base::WriterLock lock(&mu_);
  try {
    for (Chunk& chunk : fresh) {
      chunks_.push_back(std::move(chunk));
    }
  } catch (const std::bad_alloc&) {  // the chunk table itself; chunks_ is unchanged
    return Status::ResourceExhausted("ann: out of memory growing the flat index");
  }
  Chunk& chunk = chunks_[chunk_index];
  float* out = chunk.panels.get() + (slot / kPanel) * kPanel * dim_ + slot % kPanel;
  for (size_t k = 0; k < dim_; ++k) {
    out[k * kPanel] = vector[k];
  }
  if (chunk.present[slot] == 0) {
    chunk.present[slot] = 1;
    live_.fetch_add(1, std::memory_order_relaxed);
  }
  return Status::Ok();
}

bool FlatIndex::Remove(uint32_t id) {
  const size_t chunk_index = id / kChunkItems;
  const std::vector<Chunk>& chunks = WriterChunks();  // writer-only: read without the lock
  if (chunk_index >= chunks.size() || chunks[chunk_index].present[id % kChunkItems] == 0) {
    return false;
  }
  base::WriterLock lock(&mu_);
  chunks_[chunk_index].present[id % kChunkItems] = 0;
  live_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

Status FlatIndex::Search(std::span<const float> query, int k, IdFilter filter,
                         std::vector<Neighbor>* out) const {
  FLYWHEEL_RETURN_IF_ERROR(CheckVector(query, dim_, "query"));
  if (k < 0) {
    return Status::InvalidArgument("ann: k must be >= 0");
  }
  TopK top(static_cast<size_t>(k), out);
  if (k == 0) {
    return Status::Ok();
  }
  for (size_t c = 0;; ++c) {
    base::ReaderLock lock(&mu_);  // per chunk: the writer never waits for a whole scan
    if (c >= chunks_.size()) {
      break;
    }
    ScanChunk(chunks_[c].panels.get(), chunks_[c].present.get(),
              static_cast<uint32_t>(c * kChunkItems), dim_, query.data(), filter, &top);
  }
  top.Finish();
  return Status::Ok();
}

}  // namespace flywheel::ann
