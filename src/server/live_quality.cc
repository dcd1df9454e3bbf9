#include "server/live_quality.h"

#include <algorithm>

namespace flywheel::server {

uint64_t HashId(std::string_view id) {
  uint64_t h = 14695981039346656037ull;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

LiveQuality::LiveQuality(size_t max_users)
    : per_shard_(std::max<size_t>(1, (max_users + kShards - 1) / kShards)) {}

void LiveQuality::Served(const std::string& user, const std::vector<std::string>& items) {
  std::vector<uint64_t> hashes;
  hashes.reserve(std::min(items.size(), kRemembered));
  for (size_t i = 0; i < items.size() && i < kRemembered; ++i) {
    hashes.push_back(HashId(items[i]));
  }
  Shard& shard = ShardOf(user);
  base::MutexLock lock(&shard.mu);
  if (auto it = shard.index.find(user); it != shard.index.end()) {
    it->second->items = std::move(hashes);
    it->second->scored = false;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  shard.lru.push_front(Entry{user, std::move(hashes), false});
  shard.index.emplace(user, shard.lru.begin());
  while (shard.lru.size() > per_shard_) {
    shard.index.erase(shard.lru.back().user);
    shard.lru.pop_back();
  }
}

LiveQuality::Outcome LiveQuality::Positive(const std::string& user, const std::string& item) {
  Outcome out;
  const uint64_t h = HashId(item);
  Shard& shard = ShardOf(user);
  base::MutexLock lock(&shard.mu);
  auto it = shard.index.find(user);
  if (it == shard.index.end()) {
    return out;
  }
  Entry& entry = *it->second;
  const auto pos = std::find(entry.items.begin(), entry.items.end(), h);
  out.in_list = pos != entry.items.end();
  if (!entry.scored) {
    entry.scored = true;
    out.scored = true;
    out.hit = out.in_list && static_cast<size_t>(pos - entry.items.begin()) < kHitDepth;
    ++shard.lists;
    shard.hits += out.hit ? 1 : 0;
  }
  return out;
}

LiveQuality::Totals LiveQuality::totals() const {
  Totals t;
  for (const Shard& shard : shards_) {
    base::MutexLock lock(&shard.mu);
    t.lists += shard.lists;
    t.hits += shard.hits;
  }
  return t;
}

size_t LiveQuality::users() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    base::MutexLock lock(&shard.mu);
    n += shard.lru.size();
  }
  return n;
}

void ItemCounters::Recommended(const std::vector<std::string>& items) {
  for (const std::string& item : items) {
    Shard& shard = ShardOf(item);
    base::MutexLock lock(&shard.mu);
    ++shard.counts[item].recommended;
  }
}

void ItemCounters::ClickedAfterRecommended(const std::string& item) {
  Shard& shard = ShardOf(item);
  base::MutexLock lock(&shard.mu);
  ++shard.counts[item].clicked_after_recommended;
}

ItemCounters::Counts ItemCounters::Get(const std::string& item) const {
  const Shard& shard = ShardOf(item);
  base::MutexLock lock(&shard.mu);
  auto it = shard.counts.find(item);
  return it == shard.counts.end() ? Counts{} : it->second;
}

}  // namespace flywheel::server
