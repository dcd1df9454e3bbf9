// LiveQuality: the server's live hit rate (doc/http_api.md, "Live quality") and the per-item
// counters of the dashboard (GET /v1/items/{id}).
//
// The last list served to each user by GET /v1/users/{id}/recommendations is remembered (its
// first kRemembered items, as 64-bit hashes of their ids) in a bounded LRU of `max_users` users
// (least recently served forgotten first). The user's next positive event (a type whose
// `positive` flag is set, doc/formats/event_json.md) scores that list once: `lists` + 1, and
// `hits` + 1 when the event's item is among the list's first kHitDepth items. Later positive
// events of the user do not score the same list again; a new list replaces it. HR@10 =
// hits / lists (null before the first scored list). Every positive event on an item of the
// remembered list (scored or not) also counts as "clicked after recommended" for that item.
//
// ItemCounters: per item, how many served lists held it ("recommended") and how many positive
// events came from a user whose remembered list held it ("clicked_after_recommended").
//
// Both are in memory, since the server started (not persisted). Threads: any number of HTTP
// threads at once; state is split in kShards shards by hash, each guarded by its own mutex.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace flywheel::server {

// FNV-1a, 64 bits: stable ids for remembered items.
uint64_t HashId(std::string_view id);

class LiveQuality {
 public:
  static constexpr size_t kHitDepth = 10;
  static constexpr size_t kRemembered = 100;
  static constexpr size_t kShards = 16;

  explicit LiveQuality(size_t max_users = 100'000);

  // A list served to `user` (replaces the remembered one; its first kRemembered items).
  void Served(const std::string& user, const std::vector<std::string>& items);

  struct Outcome {
    bool scored = false;   // the event scored the user's list (lists + 1)
    bool hit = false;      // ... and its item was in the first kHitDepth (hits + 1)
    bool in_list = false;  // the item is in the user's remembered list (scored before or not)
  };
  // A positive event of `user` on `item`.
  Outcome Positive(const std::string& user, const std::string& item);

  struct Totals {
    uint64_t lists = 0;
    uint64_t hits = 0;
  };
  Totals totals() const;
  // Users with a remembered list.
  size_t users() const;
  size_t max_users() const { return per_shard_ * kShards; }

 private:
  struct Entry {
    std::string user;
    std::vector<uint64_t> items;  // hashes, in list order
    bool scored = false;
  };
  struct Shard {
    mutable base::Mutex mu;
    std::list<Entry> lru GUARDED_BY(mu);  // most recently served first
    std::unordered_map<std::string, std::list<Entry>::iterator> index GUARDED_BY(mu);
    uint64_t lists GUARDED_BY(mu) = 0;
    uint64_t hits GUARDED_BY(mu) = 0;
  };
  Shard& ShardOf(std::string_view user) { return shards_[HashId(user) % kShards]; }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

class ItemCounters {
 public:
  static constexpr size_t kShards = 16;

  struct Counts {
    uint64_t recommended = 0;
    uint64_t clicked_after_recommended = 0;
  };
  // Every item of a served list: recommended + 1.
  void Recommended(const std::vector<std::string>& items);
  void ClickedAfterRecommended(const std::string& item);
  // Zeros for an item never counted.
  Counts Get(const std::string& item) const;

 private:
  struct Shard {
    mutable base::Mutex mu;
    std::unordered_map<std::string, Counts> counts GUARDED_BY(mu);
  };
  Shard& ShardOf(std::string_view item) { return shards_[HashId(item) % kShards]; }
  const Shard& ShardOf(std::string_view item) const { return shards_[HashId(item) % kShards]; }

  std::array<Shard, kShards> shards_;
};

}  // namespace flywheel::server
