#include "engine/loop/served_lists.h"

#include <random>
#include <utility>

#include "base/random.h"

namespace flywheel::engine {

std::string FormatRecommendationId(uint64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i) {
    text[static_cast<size_t>(i)] = kHex[id & 0xF];
    id >>= 4;
  }
  return text;
}

std::optional<uint64_t> ParseRecommendationId(std::string_view text) {
  if (text.size() != 16) {
    return std::nullopt;
  }
  uint64_t id = 0;
  for (const char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    id = (id << 4) | static_cast<uint64_t>(digit);
  }
  return id;
}

std::string RecommendationIds::Next() {
  // Mix64 is a bijection: distinct counters give distinct ids.
  return FormatRecommendationId(
      base::Mix64(nonce_ + counter_.fetch_add(1, std::memory_order_relaxed)));
}

uint64_t RecommendationIdNonce(uint64_t seed, uint64_t last_seq_at_open) {
  if (seed == 0) {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  return base::Mix64(seed ^ base::Mix64(last_seq_at_open));
}

void ServedLists::Add(const std::string& id, ServedList list, int64_t now_ms) {
  if (capacity_ == 0) {
    return;
  }
  base::MutexLock lock(&mu_);
  Entry* entry = InsertLocked(id, now_ms);
  entry->list = std::move(list);
  entry->has_list = true;
}

ServedLists::Claim ServedLists::ClaimList(const std::string& id, int64_t now_ms, ServedList* list) {
  base::MutexLock lock(&mu_);
  EvictLocked(now_ms, 0);
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    return Claim::kMissing;
  }
  Entry& entry = it->second;
  if (entry.recorded) {
    return Claim::kRecorded;
  }
  if (!entry.has_list) {
    return Claim::kMissing;
  }
  entry.recorded = true;
  *list = entry.list;
  return Claim::kClaimed;
}

bool ServedLists::ClaimId(const std::string& id, int64_t now_ms) {
  base::MutexLock lock(&mu_);
  EvictLocked(now_ms, 0);
  if (const auto it = entries_.find(id); it != entries_.end()) {
    if (it->second.recorded) {
      return false;
    }
    it->second.recorded = true;
    return true;
  }
  if (capacity_ == 0) {
    return true;  // nothing is remembered: every explicit list is logged
  }
  InsertLocked(id, now_ms)->recorded = true;
  return true;
}

void ServedLists::Release(const std::string& id) {
  base::MutexLock lock(&mu_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) {
    return;
  }
  if (it->second.has_list) {
    it->second.recorded = false;
  } else {
    entries_.erase(it);  // its FIFO slot no longer matches a serial and is skipped
  }
}

bool ServedLists::Contains(const std::string& id, int64_t now_ms) {
  base::MutexLock lock(&mu_);
  EvictLocked(now_ms, 0);
  const auto it = entries_.find(id);
  return it != entries_.end() && it->second.has_list;
}

bool ServedLists::Peek(const std::string& id, int64_t now_ms, ServedList* list) const {
  base::MutexLock lock(&mu_);
  const auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.has_list || now_ms - it->second.added_ms >= max_age_ms_) {
    return false;
  }
  *list = it->second.list;
  return true;
}

size_t ServedLists::size() const {
  base::MutexLock lock(&mu_);
  return entries_.size();
}

ServedLists::Entry* ServedLists::InsertLocked(const std::string& id, int64_t now_ms) {
  EvictLocked(now_ms, 1);
  Entry& entry = entries_[id];
  entry = Entry{};
  entry.added_ms = now_ms;
  entry.serial = next_serial_++;
  order_.push_back(Slot{id, now_ms, entry.serial});
  return &entry;
}

void ServedLists::EvictLocked(int64_t now_ms, size_t room) {
  while (!order_.empty()) {
    const Slot& oldest = order_.front();
    const bool expired = now_ms - oldest.added_ms >= max_age_ms_;
    const bool full = entries_.size() + room > capacity_;
    const auto it = entries_.find(oldest.id);
    const bool live = it != entries_.end() && it->second.serial == oldest.serial;
    if (live && !expired && !full) {
      return;
    }
    if (live) {
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace flywheel::engine
