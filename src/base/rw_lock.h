// RwLock: a reader-writer lock that prefers writers, for the one-writer/many-readers indexes and
// the engine's state. Annotated as a capability (base/thread_annotations.h): hold it with the
// scoped WriterLock / ReaderLock so that clang's -Wthread-safety checks GUARDED_BY data.
//
// Why not std::shared_mutex: libstdc++ builds it on pthread_rwlock_t with the default
// reader-preferring kind, so a steady stream of overlapping readers can keep the writer out
// indefinitely. Here a waiting writer blocks new readers (glibc's
// PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), so a writer waits at most for the readers
// already running. The price: a thread must never take the shared lock twice (it would deadlock
// behind a waiting writer).
//
// Also meets the SharedMutex requirements (lock/unlock/lock_shared/unlock_shared), so
// std::shared_lock / std::unique_lock work with it, unchecked by the analysis.
#pragma once

#include <pthread.h>

#include "base/thread_annotations.h"

namespace flywheel::base {

class CAPABILITY("rwlock") RwLock {
 public:
  RwLock();
  ~RwLock();
  RwLock(const RwLock&) = delete;
  RwLock& operator=(const RwLock&) = delete;

  void Lock() ACQUIRE();
  void Unlock() RELEASE();
  void LockShared() ACQUIRE_SHARED();
  void UnlockShared() RELEASE_SHARED();
  // For the analysis only (no run-time check): the caller holds the lock shared or exclusive.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}
  void AssertReaderHeld() const ASSERT_SHARED_CAPABILITY(this) {}

  // SharedMutex names, for std::unique_lock / std::shared_lock.
  void lock() ACQUIRE() { Lock(); }
  void unlock() RELEASE() { Unlock(); }
  void lock_shared() ACQUIRE_SHARED() { LockShared(); }
  void unlock_shared() RELEASE_SHARED() { UnlockShared(); }

 private:
  pthread_rwlock_t rwlock_;
};

// Holds an RwLock exclusively for its scope.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(RwLock* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() RELEASE() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  RwLock* const mu_;
};

// Holds an RwLock shared for its scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(RwLock* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  RwLock* const mu_;
};

}  // namespace flywheel::base
