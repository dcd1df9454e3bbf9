#include "base/mutex.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/rw_lock.h"

namespace flywheel::base {
namespace {

using std::chrono::milliseconds;

struct Counter {
  Mutex mu;
  int64_t value GUARDED_BY(mu) = 0;
};

TEST(MutexTest, MutexLockExcludes) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10'000; ++i) {
        MutexLock lock(&c.mu);
        ++c.value;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  MutexLock lock(&c.mu);
  EXPECT_EQ(c.value, 40'000);
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  mu.Lock();
  bool got = false;
  std::thread([&] {
    if (mu.TryLock()) {
      got = true;
      mu.Unlock();
    }
  }).join();
  EXPECT_FALSE(got);
  mu.Unlock();
  if (mu.TryLock()) {
    got = true;
    mu.Unlock();
  }
  EXPECT_TRUE(got);
}

TEST(CondVarTest, WaitSeesTheNotifiedState) {
  Counter c;
  CondVar changed;
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    MutexLock lock(&c.mu);
    c.value = 7;
    changed.NotifyAll();
  });
  {
    MutexLock lock(&c.mu);
    while (c.value == 0) {
      changed.Wait(&c.mu);
    }
    EXPECT_EQ(c.value, 7);
  }
  producer.join();
  MutexLock lock(&c.mu);
  EXPECT_FALSE(changed.WaitFor(&c.mu, milliseconds(1)));  // nobody notifies: times out
}

struct Shared {
  RwLock mu;
  int64_t a GUARDED_BY(mu) = 0;
  int64_t b GUARDED_BY(mu) = 0;
};

TEST(RwLockTest, ReadersNeverSeeAHalfWrite) {
  Shared s;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> torn{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        ReaderLock lock(&s.mu);
        if (s.a != s.b) {
          torn.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  while (reads.load() == 0) {  // the readers are running
    std::this_thread::yield();
  }
  for (int i = 0; i < 20'000; ++i) {
    WriterLock lock(&s.mu);
    ++s.a;
    ++s.b;
  }
  stop.store(true);
  for (std::thread& t : readers) {
    t.join();
  }
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
  ReaderLock lock(&s.mu);
  EXPECT_EQ(s.a, 20'000);
}

TEST(RwLockTest, ReadersShareTheLock) {
  RwLock mu;
  ReaderLock first(&mu);
  bool second = false;
  std::thread([&] {
    ReaderLock lock(&mu);  // does not block behind `first`
    second = true;
  }).join();
  EXPECT_TRUE(second);
}

// A waiting writer blocks new readers (writer preference): the second reader gets the lock only
// after the writer, although a reader held the lock when both arrived.
TEST(RwLockTest, WaitingWriterGoesBeforeNewReaders) {
  Shared s;
  std::atomic<bool> writer_waiting{false};
  std::atomic<int64_t> seen_by_late_reader{-1};
  s.mu.LockShared();  // the first reader
  std::thread writer([&] {
    writer_waiting.store(true);
    WriterLock lock(&s.mu);
    s.a = 1;
  });
  while (!writer_waiting.load()) {
    std::this_thread::yield();
  }
  std::this_thread::sleep_for(milliseconds(50));  // let the writer block in Lock()
  std::thread late_reader([&] {
    ReaderLock lock(&s.mu);
    seen_by_late_reader.store(s.a);
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(seen_by_late_reader.load(), -1);  // queued behind the waiting writer
  s.mu.UnlockShared();
  writer.join();
  late_reader.join();
  EXPECT_EQ(seen_by_late_reader.load(), 1);
}

}  // namespace
}  // namespace flywheel::base
