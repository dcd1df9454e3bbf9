// Clang thread-safety analysis attributes (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html)
// as macros; they expand to nothing under other compilers (GCC builds are unaffected). The
// clang-fuzz preset builds the tree with clang++ -Wthread-safety -Werror, so a member read
// without its lock is a compile error there.
//
// Use with the annotated locks of base/mutex.h and base/rw_lock.h:
//   mutable base::Mutex mu_;
//   std::map<std::string, int> counts_ GUARDED_BY(mu_);
//   void AddLocked(const std::string& key) REQUIRES(mu_);
// std::mutex, std::lock_guard and std::shared_lock are not annotated: data they protect cannot be
// checked.
#pragma once

#if defined(__clang__)
#define FLYWHEEL_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define FLYWHEEL_THREAD_ANNOTATION_(x)  // no-op
#endif

// A class whose instances are locks ("mutex", "rwlock").
#define CAPABILITY(x) FLYWHEEL_THREAD_ANNOTATION_(capability(x))
// An RAII class that acquires a capability in its constructor and releases it in its destructor.
#define SCOPED_CAPABILITY FLYWHEEL_THREAD_ANNOTATION_(scoped_lockable)

// A data member only accessed with the capability held (shared for reads, exclusive for writes).
#define GUARDED_BY(x) FLYWHEEL_THREAD_ANNOTATION_(guarded_by(x))
// A pointer member whose pointee is only accessed with the capability held.
#define PT_GUARDED_BY(x) FLYWHEEL_THREAD_ANNOTATION_(pt_guarded_by(x))

// Lock ordering: this capability is acquired after / before the named ones.
#define ACQUIRED_AFTER(...) FLYWHEEL_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) FLYWHEEL_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))

// The caller must hold the capabilities (exclusively / at least shared).
#define REQUIRES(...) FLYWHEEL_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) FLYWHEEL_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))

// The function acquires / releases the capabilities (no argument: `this`).
#define ACQUIRE(...) FLYWHEEL_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) FLYWHEEL_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) FLYWHEEL_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) FLYWHEEL_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
// Releases a capability held either way (the destructor of a scoped lock).
#define RELEASE_GENERIC(...) FLYWHEEL_THREAD_ANNOTATION_(release_generic_capability(__VA_ARGS__))
// Acquires the capability when the function returns `b` (TryLock).
#define TRY_ACQUIRE(...) FLYWHEEL_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) \
  FLYWHEEL_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))

// The caller must not hold the capabilities (the function takes them itself).
#define EXCLUDES(...) FLYWHEEL_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

// Tells the analysis that the capability is held from here on (checked at run time, if at all).
#define ASSERT_CAPABILITY(x) FLYWHEEL_THREAD_ANNOTATION_(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) FLYWHEEL_THREAD_ANNOTATION_(assert_shared_capability(x))

// The function returns a reference to the capability.
#define RETURN_CAPABILITY(x) FLYWHEEL_THREAD_ANNOTATION_(lock_returned(x))

// Turns the analysis off for one function (say why next to it).
#define NO_THREAD_SAFETY_ANALYSIS FLYWHEEL_THREAD_ANNOTATION_(no_thread_safety_analysis)
