// Annotated locks (base/thread_annotations.h): base::Mutex over std::mutex, the scoped
// base::MutexLock and base::CondVar to wait with a Mutex held. Clang's -Wthread-safety (the
// clang-fuzz preset, `make tsa`) checks that data declared GUARDED_BY(mu) is only touched with mu
// held.
//
//   base::Mutex mu_;
//   int pending_ GUARDED_BY(mu_) = 0;
//   base::CondVar changed_;
//   ...
//   base::MutexLock lock(&mu_);
//   while (pending_ > 0) {  // a loop, not a predicate lambda: the analysis does not see
//     changed_.Wait(&mu_);  // that a lambda runs with the lock held
//   }
//
// The reader-writer lock is base::RwLock (base/rw_lock.h). Same cost as std::mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace flywheel::base {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For the analysis only: states that the caller holds the lock (no run-time check).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

  // BasicLockable, for generic code (std::scoped_lock); prefer MutexLock, which the analysis
  // understands.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable used with a held Mutex (std::condition_variable underneath: no extra cost
// over the std pair). Spurious wake-ups happen: wait in a loop over the condition.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu, blocks until notified (or spuriously woken), re-acquires *mu.
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held: the caller's MutexLock releases it
  }
  // As Wait, up to `deadline`; false when it passed.
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_until(lock, deadline);
    lock.release();
    return status == std::cv_status::no_timeout;
  }
  // As Wait, up to `timeout`; false when it passed.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }

  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace flywheel::base
