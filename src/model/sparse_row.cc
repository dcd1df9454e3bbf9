#include "model/sparse_row.h"

#include <algorithm>

namespace flywheel::model {
namespace {

// out[i] += scale * row[i]. The rows never alias the caller's score buffer (`__restrict`). The
// body works in blocks of 8 so that GCC's -O2 (which only vectorises loops without a scalar
// epilogue) turns each block into SIMD instructions; the tail is scalar.
void AddScaled(const float* __restrict row, size_t n, float scale, float* __restrict out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) {
      out[i + j] += scale * row[i + j];
    }
  }
  for (; i < n; ++i) {
    out[i] += scale * row[i];
  }
}

}  // namespace

void SparseRow::Add(ItemIdx key, float delta) {
  if (dense()) {
    if (key >= dense_.size()) {
      dense_.resize(std::max<size_t>(static_cast<size_t>(key) + 1, dense_.size() * 5 / 4), 0.0f);
    }
    size_ += dense_[key] == 0.0f ? 1 : 0;
    dense_[key] += delta;
    return;
  }
  max_key_ = std::max(max_key_, key);
  if ((size_ + 1) * 2 > slots_.size()) {
    // Growing the hash table past the size of a dense array: switch to dense instead.
    if (!slots_.empty() && slots_.size() * 2 * sizeof(Slot) >= (max_key_ + 1) * sizeof(float)) {
      MakeDense();
      Add(key, delta);
      return;
    }
    Grow();
  }
  InsertSparse(key, delta);
}

void SparseRow::Assign(std::span<const Slot> entries) {
  slots_.clear();
  dense_.clear();
  size_ = 0;
  max_key_ = 0;
  if (entries.empty()) {
    return;
  }
  for (const Slot& e : entries) {
    max_key_ = std::max(max_key_, e.key);
  }
  size_t capacity = 8;
  while (capacity < entries.size() * 2) {  // load factor <= 0.5
    capacity *= 2;
  }
  if (capacity * sizeof(Slot) >= (static_cast<size_t>(max_key_) + 1) * sizeof(float)) {
    dense_.assign(static_cast<size_t>(max_key_) + 1, 0.0f);
    for (const Slot& e : entries) {
      size_ += dense_[e.key] == 0.0f ? 1 : 0;
      dense_[e.key] += e.value;
    }
    return;
  }
  slots_.assign(capacity, Slot{});
  for (const Slot& e : entries) {
    InsertSparse(e.key, e.value);
  }
}

void SparseRow::InsertSparse(ItemIdx key, float delta) {
  const size_t mask = slots_.size() - 1;
  for (size_t pos = Hash(key) & mask;; pos = (pos + 1) & mask) {
    Slot& slot = slots_[pos];
    if (slot.key == key) {
      slot.value += delta;
      return;
    }
    if (slot.key == kNoItem) {
      slot.key = key;
      slot.value = delta;
      ++size_;
      return;
    }
  }
}

float SparseRow::Get(ItemIdx key) const {
  if (dense()) {
    return key < dense_.size() ? dense_[key] : 0.0f;
  }
  if (slots_.empty()) {
    return 0.0f;
  }
  const size_t mask = slots_.size() - 1;
  for (size_t pos = Hash(key) & mask;; pos = (pos + 1) & mask) {
    const Slot& slot = slots_[pos];
    if (slot.key == key) {
      return slot.value;
    }
    if (slot.key == kNoItem) {
      return 0.0f;
    }
  }
}

void SparseRow::AddScaledTo(std::span<float> scores, float scale) const {
  if (dense()) {
    AddScaled(dense_.data(), std::min(scores.size(), dense_.size()), scale, scores.data());
    return;
  }
  for (const Slot& slot : slots_) {
    if (slot.key != kNoItem && slot.key < scores.size()) {
      scores[slot.key] += scale * slot.value;
    }
  }
}

void SparseRow::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 8 : old.size() * 2, Slot{});
  size_ = 0;
  for (const Slot& slot : old) {
    if (slot.key != kNoItem) {
      InsertSparse(slot.key, slot.value);
    }
  }
}

void SparseRow::MakeDense() {
  dense_.assign(static_cast<size_t>(max_key_) + 1, 0.0f);
  for (const Slot& slot : slots_) {
    if (slot.key != kNoItem) {
      dense_[slot.key] = slot.value;
    }
  }
  slots_.clear();
  slots_.shrink_to_fit();
}

}  // namespace flywheel::model
