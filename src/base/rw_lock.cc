#include "base/rw_lock.h"

#include "base/check.h"

namespace flywheel::base {

RwLock::RwLock() : rwlock_() {
  pthread_rwlockattr_t attr;
  FLYWHEEL_CHECK(pthread_rwlockattr_init(&attr) == 0);
  FLYWHEEL_CHECK(
      pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) == 0);
  FLYWHEEL_CHECK(pthread_rwlock_init(&rwlock_, &attr) == 0);
  pthread_rwlockattr_destroy(&attr);
}

RwLock::~RwLock() {
  pthread_rwlock_destroy(&rwlock_);
}

// The analysis cannot see that the pthread calls take and release the lock.
void RwLock::Lock() NO_THREAD_SAFETY_ANALYSIS {
  FLYWHEEL_CHECK(pthread_rwlock_wrlock(&rwlock_) == 0);
}

void RwLock::Unlock() NO_THREAD_SAFETY_ANALYSIS {
  FLYWHEEL_CHECK(pthread_rwlock_unlock(&rwlock_) == 0);
}

void RwLock::LockShared() NO_THREAD_SAFETY_ANALYSIS {
  FLYWHEEL_CHECK(pthread_rwlock_rdlock(&rwlock_) == 0);
}

void RwLock::UnlockShared() NO_THREAD_SAFETY_ANALYSIS {
  FLYWHEEL_CHECK(pthread_rwlock_unlock(&rwlock_) == 0);
}

}  // namespace flywheel::base
