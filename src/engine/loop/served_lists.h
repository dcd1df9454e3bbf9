// ServedLists: the answers of Engine::Recommend kept by recommendation id until an impression
// names them (doc/loop.md, "Recommendation ids and the served-list cache"), and which ids were
// recorded (each id is logged at most once).
//
// Bounded by count (loop.served_cache) and by age (loop.attribution_window_ms, on the steady
// clock: a list is servable for as long as its impression could still be attributed); the
// oldest entries go first. An id recorded without a cached list (an explicit list naming it)
// takes an entry without items, so a repeat is still recognised within the same bounds.
// O(1) lookup (hash map) and O(1) amortised insertion and eviction (a FIFO of insertions).
//
// Threads: every method may be called from any thread; mu_ guards everything. Callers never
// hold it while logging (claims are taken, logged outside, then kept or released).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flywheel/impression.h"
#include "flywheel/types.h"

#include "base/mutex.h"

namespace flywheel::engine {

// A recommendation id's text: 16 lower-case hex digits.
std::string FormatRecommendationId(uint64_t id);
// The number behind an id this engine could have issued; nullopt for any other text.
std::optional<uint64_t> ParseRecommendationId(std::string_view text);

// Issues recommendation ids: a counter mixed with a nonce by a bijection of 64-bit words, so
// the ids of one engine never repeat (2^64 of them) and do not reveal the request count.
// Thread-safe (an atomic counter).
class RecommendationIds {
 public:
  explicit RecommendationIds(uint64_t nonce) : nonce_(nonce) {}
  std::string Next();

 private:
  const uint64_t nonce_;
  std::atomic<uint64_t> counter_{0};
};

// The nonce of an engine's ids: `seed` != 0 (EngineOptions::loop.seed) gives reproducible ids,
// mixed with the log's last sequence number at open so that a restart after anything was
// logged does not issue the ids of the previous run again; 0 draws a random nonce.
uint64_t RecommendationIdNonce(uint64_t seed, uint64_t last_seq_at_open);

// One answer as served.
struct ServedList {
  std::string user;
  TimestampMs ts_ms = 0;  // the request time (event time)
  std::string policy;
  std::string model;
  uint64_t model_version = 0;    // the applied sequence number the answer reflects
  std::vector<ShownItem> items;  // positions 0..n-1, with the policy's probabilities
};

class ServedLists {
 public:
  // `capacity`: at most this many ids (0: nothing is kept); `max_age_ms`: entries older than
  // this (by `now_ms` of the calls, a steady clock) are dropped.
  ServedLists(size_t capacity, int64_t max_age_ms) : capacity_(capacity), max_age_ms_(max_age_ms) {}
  ServedLists(const ServedLists&) = delete;
  ServedLists& operator=(const ServedLists&) = delete;

  // Keeps a served list under its (new) id.
  void Add(const std::string& id, ServedList list, int64_t now_ms) EXCLUDES(mu_);

  enum class Claim {
    kMissing,   // not in the cache (never served here, expired, evicted, or before a restart)
    kClaimed,   // cached and not recorded: now claimed by the caller, *list is a copy
    kRecorded,  // recorded before (or being recorded by another caller right now)
  };
  // Claims the cached list `id` for recording. A claim is kept (Keep) once the record is
  // logged, or released (Release) when logging failed.
  Claim ClaimList(const std::string& id, int64_t now_ms, ServedList* list) EXCLUDES(mu_);
  // Claims an id that has no cached list (an explicit list naming it): false when the id was
  // recorded (or claimed) before. The id then stays recorded within the bounds.
  bool ClaimId(const std::string& id, int64_t now_ms) EXCLUDES(mu_);
  // Undoes a claim whose record could not be logged: the id may be recorded again.
  void Release(const std::string& id) EXCLUDES(mu_);

  // A copy of the cached list `id` (recorded or not), without claiming it; false when none.
  bool Peek(const std::string& id, int64_t now_ms, ServedList* list) const EXCLUDES(mu_);
  // Whether `id` is cached with its list (recorded or not); for tests and stats.
  bool Contains(const std::string& id, int64_t now_ms) EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);

 private:
  struct Entry {
    ServedList list;
    bool has_list = false;
    bool recorded = false;
    int64_t added_ms = 0;
    uint64_t serial = 0;  // matches its FIFO slot (a released id-only entry may come back)
  };
  struct Slot {
    std::string id;
    int64_t added_ms = 0;
    uint64_t serial = 0;
  };
  // Drops expired entries, then the oldest while over capacity. REQUIRES: mu_.
  void EvictLocked(int64_t now_ms, size_t room) REQUIRES(mu_);
  Entry* InsertLocked(const std::string& id, int64_t now_ms) REQUIRES(mu_);

  const size_t capacity_;
  const int64_t max_age_ms_;
  mutable base::Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::deque<Slot> order_ GUARDED_BY(mu_);  // insertion order (oldest first)
  uint64_t next_serial_ GUARDED_BY(mu_) = 0;
};

}  // namespace flywheel::engine
