// Fault injection on the engine (reliability guide 5.6): the Nth write or fdatasync fails, or
// the disk fills up, at every point of a run with automatic snapshots; then power is lost
// (unsynced bytes dropped, partially written back). Recovery must succeed and give exactly the
// state of a clean run over the events the log kept, which include every acknowledged one.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "io/env.h"
#include "io/fault_injection_env.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::TempDir;

std::vector<Event> Events(size_t n) {
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.user = "u" + std::to_string(i * 31 % 23);
    e.item = "i" + std::to_string(i * 17 % 41);
    e.type = i % 4 == 0 ? "purchase" : "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>(i) * 500;
    e.id = "e" + std::to_string(i);
    events.push_back(e);
  }
  return events;
}

EngineOptions Options(const std::string& dir, io::Env* env) {
  EngineOptions o;
  o.data_dir = dir;
  o.env = env;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  o.snapshot_every = 120;
  o.keep_snapshots = 2;
  o.segment_bytes = 8192;
  o.snapshot_on_close = false;
  return o;
}

constexpr size_t kEvents = 600;
constexpr size_t kBatch = 25;

// Digest of a clean run over the first n events.
uint32_t ReferenceDigest(size_t n) {
  TempDir dir;
  auto engine = Engine::Open(Options(dir.path(), nullptr));
  EXPECT_OK(engine.status());
  const auto events = Events(n);
  if (n > 0) {
    EXPECT_OK((*engine)->Ingest(events).status());
    EXPECT_OK((*engine)->WaitForApplied(n, 30000));
  }
  auto digest = (*engine)->StateDigest();
  EXPECT_OK(digest.status());
  return digest.ok() ? *digest : 0;
}

enum class Fault { kWrite, kSync, kSpace };

// Runs until the fault stops ingestion, loses power, recovers and checks. Returns the number
// of events acknowledged.
uint64_t RunWithFault(Fault fault, int n, uint64_t crash_seed) {
  TempDir dir;
  io::FaultInjectionEnv env(io::Env::Default());
  env.set_forward_syncs(false);
  switch (fault) {
    case Fault::kWrite:
      env.FailNthWrite(n);
      break;
    case Fault::kSync:
      env.FailNthSync(n);
      break;
    case Fault::kSpace:
      env.SetSpaceLimit(static_cast<uint64_t>(n) * 997);
      break;
  }
  const auto events = Events(kEvents);
  uint64_t acked = 0;
  {
    auto engine = Engine::Open(Options(dir.path(), &env));
    if (engine.ok()) {
      bool failed = false;
      for (size_t i = 0; i < kEvents; i += kBatch) {
        auto r = (*engine)->Ingest(std::span(events).subspan(i, kBatch));
        if (!r.ok()) {
          failed = true;
          // Failure is sticky: nothing is acknowledged after it.
          EXPECT_FALSE((*engine)->Ingest(std::span(events).subspan(i, 1)).ok());
          break;
        }
        EXPECT_EQ(r->last_seq, i + kBatch);
        acked = r->last_seq;
      }
      (void)failed;
    }
  }
  EXPECT_OK(env.SimulateCrash(crash_seed));
  env.Reactivate();
  env.FailNthWrite(0);
  env.FailNthSync(0);
  env.SetSpaceLimit(UINT64_MAX);
  auto engine = Engine::Open(Options(dir.path(), &env));
  EXPECT_OK(engine.status()) << "fault " << static_cast<int>(fault) << " n=" << n;
  if (!engine.ok()) {
    return acked;
  }
  const EngineStats s = (*engine)->stats();
  EXPECT_GE(s.last_seq, acked) << "acknowledged events lost: fault " << static_cast<int>(fault)
                               << " n=" << n;
  EXPECT_EQ(s.applied_seq, s.last_seq);
  auto digest = (*engine)->StateDigest();
  EXPECT_OK(digest.status());
  EXPECT_EQ(*digest, ReferenceDigest(s.last_seq))
      << "recovered state differs from a clean run over " << s.last_seq << " events";
  // And the engine goes on: the rest of the events, retried with their ids, land exactly once.
  auto r = (*engine)->Ingest(events);
  EXPECT_OK(r.status());
  if (r.ok()) {
    EXPECT_EQ(r->last_seq, kEvents);
    EXPECT_EQ(r->duplicates, s.last_seq);
  }
  return acked;
}

TEST(EngineFaultTest, NthWriteFails) {
  uint64_t total = 0;
  for (int n = 1; n <= 40; n += 3) {
    total += RunWithFault(Fault::kWrite, n, 0);
  }
  EXPECT_GT(total, 0u);  // some runs got far enough to acknowledge events
}

TEST(EngineFaultTest, NthSyncFails) {
  uint64_t total = 0;
  for (int n = 1; n <= 40; n += 3) {
    total += RunWithFault(Fault::kSync, n, static_cast<uint64_t>(n));
  }
  EXPECT_GT(total, 0u);
}

TEST(EngineFaultTest, DiskFull) {
  uint64_t total = 0;
  for (int n = 1; n <= 60; n += 6) {
    total += RunWithFault(Fault::kSpace, n, static_cast<uint64_t>(n) + 7);
  }
  EXPECT_GT(total, 0u);
}

TEST(EngineFaultTest, PowerLossWithoutFaults) {
  for (uint64_t seed = 0; seed < 5; ++seed) {
    EXPECT_EQ(RunWithFault(Fault::kWrite, 1'000'000, seed), kEvents);
  }
}

}  // namespace
}  // namespace flywheel
