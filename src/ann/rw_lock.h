// RwLock: a reader-writer lock that prefers writers, for the one-writer/many-readers indexes.
//
// Why not std::shared_mutex: libstdc++ builds it on pthread_rwlock_t with the default
// reader-preferring kind, so a steady stream of overlapping Search calls can keep the writer out
// indefinitely. Here a waiting writer blocks new readers (glibc's
// PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), so an Upsert waits at most for the searches
// already running. The price: a thread must never take the shared lock twice (it would deadlock
// behind a waiting writer); the indexes never do.
//
// Meets the SharedMutex requirements, so std::shared_lock / std::unique_lock work with it.
#pragma once

#include <pthread.h>

namespace flywheel::ann {

class RwLock {
 public:
  RwLock();
  ~RwLock();
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void lock();
  void unlock();
  void lock_shared();
  void unlock_shared();

 private:
  pthread_rwlock_t rwlock_;
};

}  // namespace flywheel::ann
