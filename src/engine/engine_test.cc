#include "flywheel/engine.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/random.h"
#include "engine/store/snapshot_file.h"
#include "io/env.h"
#include "io/fault_injection_env.h"
#include "model/registry.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

// A deterministic synthetic stream: users prefer items of "their" group.
std::vector<Event> MakeEvents(size_t n, uint64_t seed, size_t first_index = 0) {
  base::Rng rng(seed);
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t user = rng.Uniform(50);
    const uint64_t item = (user % 5) * 20 + rng.Uniform(20);
    Event e;
    e.user = "u" + std::to_string(user);
    e.item = "i" + std::to_string(item);
    e.type = rng.Bernoulli(0.2) ? "purchase" : "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>((first_index + i) * 1000);
    e.id = "e" + std::to_string(first_index + i);
    events.push_back(e);
  }
  return events;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}},
              ModelSpec{"recentpop", {{"half_life_hours", "2"}}}};
  o.snapshot_on_close = false;
  return o;
}

std::unique_ptr<Engine> OpenOk(const EngineOptions& o) {
  auto engine = Engine::Open(o);
  EXPECT_OK(engine.status());
  return engine.ok() ? std::move(engine).value() : nullptr;
}

TEST(EngineTest, IngestAssignsSequenceNumbersAndLearns) {
  TempDir dir;
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  const auto events = MakeEvents(300, 1);
  auto first = engine->Ingest(std::span(events).subspan(0, 100));
  ASSERT_OK(first.status());
  EXPECT_EQ(first->first_seq, 1u);
  EXPECT_EQ(first->last_seq, 100u);
  EXPECT_EQ(first->accepted, 100u);
  auto second = engine->Ingest(std::span(events).subspan(100));
  ASSERT_OK(second.status());
  EXPECT_EQ(second->first_seq, 101u);
  EXPECT_EQ(second->last_seq, 300u);
  ASSERT_OK(engine->WaitForApplied(300, 10000));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.last_seq, 300u);
  EXPECT_EQ(s.durable_seq, 300u);
  EXPECT_EQ(s.applied_seq, 300u);
  EXPECT_EQ(s.users, 50u);
  EXPECT_LE(s.items, 100u);

  RecommendQuery q;
  q.user = "u3";
  q.k = 5;
  q.model = "itemknn";
  auto rec = engine->Recommend(q);
  ASSERT_OK(rec.status());
  EXPECT_TRUE(rec->known_user);
  EXPECT_EQ(rec->applied_seq, 300u);
  ASSERT_EQ(rec->items.size(), 5u);
  // u3 prefers group 3 (items i60..i79): item-item similarity must find that group.
  int in_group = 0;
  for (const auto& r : rec->items) {
    const int item = std::stoi(r.item.substr(1));
    in_group += (item >= 60 && item < 80) ? 1 : 0;
  }
  EXPECT_GE(in_group, 4);

  q.user = "never-seen";
  q.model.clear();
  rec = engine->Recommend(q);
  ASSERT_OK(rec.status());
  EXPECT_FALSE(rec->known_user);
  EXPECT_EQ(rec->model, "pop");
  EXPECT_EQ(rec->items.size(), 5u);
  ASSERT_OK(engine->Close());
}

TEST(EngineTest, InvalidEventRejectsTheWholeBatchWithItsIndex) {
  TempDir dir;
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  auto events = MakeEvents(5, 2);
  events[3].type = "teleport";
  EXPECT_THAT(engine->Ingest(events).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("event 3")));
  const auto errors = engine->Validate(events);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 3u);
  EXPECT_EQ(errors[0].field, "type");
  EXPECT_EQ(engine->stats().last_seq, 0u);
  RecommendQuery bad;
  bad.k = 0;
  EXPECT_THAT(engine->Recommend(bad).status(), StatusIs(StatusCode::kInvalidArgument));
  bad.k = 3;
  bad.model = "nosuch";
  EXPECT_THAT(engine->Recommend(bad).status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(EngineTest, RepeatedEventIdsAreAcknowledgedButAppliedOnce) {
  TempDir dir;
  auto events = MakeEvents(20, 3);
  {
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_NE(engine, nullptr);
    ASSERT_OK(engine->Ingest(events).status());
    auto again = engine->Ingest(std::span(events).subspan(5, 10));
    ASSERT_OK(again.status());
    EXPECT_EQ(again->accepted, 0u);
    EXPECT_EQ(again->duplicates, 10u);
    EXPECT_EQ(again->last_seq, 20u);
    // Duplicates inside one batch too.
    std::vector<Event> twice = {MakeEvents(1, 9, 1000)[0], MakeEvents(1, 9, 1000)[0]};
    auto dup = engine->Ingest(twice);
    ASSERT_OK(dup.status());
    EXPECT_EQ(dup->accepted, 1u);
    EXPECT_EQ(dup->duplicates, 1u);
    EXPECT_EQ(dup->last_seq, 21u);
    ASSERT_OK(engine->Snapshot().status());
  }
  // After a restart (snapshot + log) the ids are still known.
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  auto again = engine->Ingest(events);
  ASSERT_OK(again.status());
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->last_seq, 21u);
}

TEST(EngineTest, ModelsMustMatchTheDataDirectory) {
  TempDir dir;
  { ASSERT_NE(OpenOk(Options(dir.path())), nullptr); }
  EngineOptions other = Options(dir.path());
  other.models = {ModelSpec{"pop", {}}};
  EXPECT_THAT(Engine::Open(other).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("created with models")));
  EngineOptions stored = Options(dir.path());
  stored.models.clear();  // use what the directory says
  auto engine = OpenOk(stored);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().models, (std::vector<std::string>{"pop", "itemknn", "recentpop"}));
  EngineOptions second = Options(dir.path());
  EXPECT_THAT(Engine::Open(second).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("in use")));
}

TEST(EngineTest, BadModelConfigurationIsRejectedAndNotPersisted) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.models = {ModelSpec{"bpr", {{"dimm", "8"}}}};
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kInvalidArgument));
  o.models = {ModelSpec{"pop", {}}};
  EXPECT_NE(OpenOk(o), nullptr);
  o.durability = "sometimes";
  EXPECT_THAT(Engine::Open(o).status(), StatusIs(StatusCode::kInvalidArgument));
}

// Recovery equivalence: a run interrupted at any point (with or without a snapshot) recovers to
// exactly the state of an uninterrupted run over the same events.
TEST(EngineTest, RecoveryIsBitIdenticalToAnUninterruptedRun) {
  const auto events = MakeEvents(1200, 4);
  uint32_t reference = 0;
  {
    TempDir dir;
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_NE(engine, nullptr);
    for (size_t i = 0; i < events.size(); i += 100) {
      ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 100)).status());
    }
    ASSERT_OK(engine->WaitForApplied(events.size(), 20000));
    auto digest = engine->StateDigest();
    ASSERT_OK(digest.status());
    reference = *digest;
  }
  for (const bool with_snapshot : {false, true}) {
    TempDir dir;
    {
      auto engine = OpenOk(Options(dir.path()));
      ASSERT_NE(engine, nullptr);
      for (size_t i = 0; i < 700; i += 100) {
        ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 100)).status());
      }
      if (with_snapshot) {
        ASSERT_OK(engine->WaitForApplied(500, 20000));
        ASSERT_OK(engine->Snapshot().status());
      }
      // Destroyed without Close(): the learner may not have applied everything.
    }
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_NE(engine, nullptr);
    const EngineStats s = engine->stats();
    EXPECT_EQ(s.last_seq, 700u);
    EXPECT_EQ(s.applied_seq, 700u);
    if (with_snapshot) {
      EXPECT_GE(s.recovered_snapshot_seq, 500u);
      EXPECT_EQ(s.replayed_events, 700u - s.recovered_snapshot_seq);
    } else {
      EXPECT_EQ(s.replayed_events, 700u);
    }
    for (size_t i = 700; i < events.size(); i += 100) {
      ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 100)).status());
    }
    ASSERT_OK(engine->WaitForApplied(events.size(), 20000));
    auto digest = engine->StateDigest();
    ASSERT_OK(digest.status());
    EXPECT_EQ(*digest, reference) << "with_snapshot=" << with_snapshot;
  }
}

TEST(EngineTest, CorruptNewestSnapshotFallsBackToAnOlderOne) {
  TempDir dir;
  const auto events = MakeEvents(400, 5);
  EngineOptions o = Options(dir.path());
  uint32_t reference = 0;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    ASSERT_OK(engine->Ingest(std::span(events).subspan(0, 200)).status());
    ASSERT_OK(engine->WaitForApplied(200, 20000));
    ASSERT_OK(engine->Snapshot().status());
    ASSERT_OK(engine->Ingest(std::span(events).subspan(200)).status());
    ASSERT_OK(engine->WaitForApplied(400, 20000));
    ASSERT_OK(engine->Snapshot().status());
    reference = *engine->StateDigest();
  }
  // Flip a byte in the middle of the newest snapshot.
  const std::string newest = dir.path() + "/snapshots/" + engine::SnapshotFileName(400);
  std::string bytes;
  ASSERT_OK(io::ReadFileToString(io::Env::Default(), newest, &bytes));
  bytes[bytes.size() / 2] ^= 0x40;
  {
    auto file = io::Env::Default()->OpenWritable(newest);
    ASSERT_OK(file.status());
    ASSERT_OK((*file)->Append(bytes));
    ASSERT_OK((*file)->Close());
  }
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.recovered_snapshot_seq, 200u);
  EXPECT_EQ(s.replayed_events, 200u);
  ASSERT_FALSE(s.recovery_messages.empty());
  EXPECT_THAT(s.recovery_messages[0], HasSubstr("skipped snapshot"));
  EXPECT_EQ(*engine->StateDigest(), reference);
}

TEST(EngineTest, RetentionKeepsTheLastSnapshotsAndTheLogTheyNeed) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.keep_snapshots = 2;
  o.segment_bytes = 4096;  // many small segments
  o.snapshot_every = 250;
  const auto events = MakeEvents(1000, 6);
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    for (size_t i = 0; i < events.size(); i += 50) {
      ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 50)).status());
    }
    ASSERT_OK(engine->WaitForApplied(1000, 20000));
    ASSERT_OK(engine->Close());
  }
  auto snaps = engine::ListSnapshots(io::Env::Default(), dir.path() + "/snapshots");
  ASSERT_OK(snaps.status());
  ASSERT_EQ(snaps->size(), 2u);
  EXPECT_EQ((*snaps)[0], 1000u);
  EXPECT_EQ((*snaps)[1], 750u);
  auto wal_files = io::Env::Default()->ListDir(dir.path() + "/wal");
  ASSERT_OK(wal_files.status());
  EXPECT_LT(wal_files->size(), 15u);  // segments before seq 751 were removed
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().recovered_snapshot_seq, 1000u);
  EXPECT_EQ(engine->stats().last_seq, 1000u);
}

TEST(EngineTest, ReadersRunWhileTheLearnerLearns) {
  TempDir dir;
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  const auto events = MakeEvents(2000, 7);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      RecommendQuery q;
      q.k = 10;
      int i = 0;
      while (!done.load()) {
        q.user = "u" + std::to_string((i++ * 7 + t) % 60);
        q.model = (i % 3 == 0) ? "recentpop" : (i % 3 == 1 ? "itemknn" : "pop");
        auto r = engine->Recommend(q);
        EXPECT_OK(r.status());
        reads.fetch_add(1);
        (void)engine->stats();
      }
    });
  }
  for (size_t i = 0; i < events.size(); i += 20) {
    ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 20)).status());
  }
  ASSERT_OK(engine->WaitForApplied(events.size(), 30000));
  ASSERT_OK(engine->Snapshot().status());
  done.store(true);
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_GT(reads.load(), 0);
  ASSERT_OK(engine->Close());
}

}  // namespace
}  // namespace flywheel

namespace flywheel {
namespace {

std::string OnlySegment(const std::string& data_dir) {
  auto names = io::Env::Default()->ListDir(data_dir + "/wal");
  EXPECT_OK(names.status());
  std::string last;
  for (const auto& n : *names) {
    if (n.ends_with(".log")) {
      auto size = io::Env::Default()->FileSize(data_dir + "/wal/" + n);
      if (size.ok() && *size > 20) {
        last = data_dir + "/wal/" + n;
      }
    }
  }
  return last;
}

uint32_t DigestOfFirst(const std::vector<Event>& events, size_t n) {
  TempDir dir;
  auto engine = OpenOk(Options(dir.path()));
  if (n > 0) {
    EXPECT_OK(engine->Ingest(std::span(events).subspan(0, n)).status());
    EXPECT_OK(engine->WaitForApplied(n, 20000));
  }
  return *engine->StateDigest();
}

// The log cut at every byte offset of its last records (a torn write): the engine opens, keeps
// exactly the complete records, and its state equals a clean run over them.
TEST(EngineRecoveryTest, TruncationAtEveryOffsetOfTheTail) {
  TempDir dir;
  const std::string base = dir.path() + "/base";
  const auto events = MakeEvents(40, 11);
  {
    auto engine = OpenOk(Options(base));
    for (size_t i = 0; i < 40; i += 10) {
      ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 10)).status());
    }
  }
  const std::string segment = OnlySegment(base);
  ASSERT_FALSE(segment.empty());
  std::string log;
  ASSERT_OK(io::ReadFileToString(io::Env::Default(), segment, &log));
  std::string config;
  ASSERT_OK(io::ReadFileToString(io::Env::Default(), base + "/engine.json", &config));
  const uint64_t size = log.size();
  std::map<uint64_t, uint32_t> digests;  // last_seq -> reference digest
  uint64_t previous_last = 0;
  const uint64_t from = size > 160 ? size - 160 : 0;  // the last records (about 4 events)
  for (uint64_t cut = from; cut <= size; ++cut) {
    // A fresh directory holding the configuration and the log cut at `cut`.
    const std::string copy = dir.path() + "/cut" + std::to_string(cut);
    ASSERT_OK(io::Env::Default()->CreateDir(copy + "/wal"));
    for (const auto& [name, bytes] :
         {std::pair{copy + "/engine.json", std::string_view(config)},
          std::pair{copy + segment.substr(base.size()), std::string_view(log).substr(0, cut)}}) {
      auto file = io::Env::Default()->OpenWritable(name);
      ASSERT_OK(file.status());
      ASSERT_OK((*file)->Append(bytes));
      ASSERT_OK((*file)->Close());
    }
    io::FaultInjectionEnv fast(io::Env::Default());  // no real fsyncs: the test is about bytes
    fast.set_forward_syncs(false);
    EngineOptions options = Options(copy);
    options.env = &fast;
    auto engine = OpenOk(options);
    ASSERT_NE(engine, nullptr) << "cut at " << cut;
    const uint64_t last = engine->stats().last_seq;
    EXPECT_GE(last, previous_last) << "a longer file must not lose records";
    previous_last = last;
    if (!digests.count(last)) {
      digests[last] = DigestOfFirst(events, last);
    }
    EXPECT_EQ(*engine->StateDigest(), digests[last]) << "cut at " << cut;
  }
  EXPECT_EQ(previous_last, 40u);
  EXPECT_GE(digests.size(), 3u);  // the cuts crossed several record boundaries
}

TEST(EngineRecoveryTest, CorruptionBeforeTheTailRefusesToOpenUnlessSkipping) {
  TempDir dir;
  const auto events = MakeEvents(60, 12);
  {
    auto engine = OpenOk(Options(dir.path()));
    ASSERT_OK(engine->Ingest(events).status());
  }
  const std::string segment = OnlySegment(dir.path());
  std::string bytes;
  ASSERT_OK(io::ReadFileToString(io::Env::Default(), segment, &bytes));
  bytes[bytes.size() / 3] ^= 0x5a;  // inside an early record
  {
    auto file = io::Env::Default()->OpenWritable(segment);
    ASSERT_OK(file.status());
    ASSERT_OK((*file)->Append(bytes));
    ASSERT_OK((*file)->Close());
  }
  EXPECT_THAT(Engine::Open(Options(dir.path())).status(),
              StatusIs(StatusCode::kCorruption, HasSubstr("skip_corruption")));
  EngineOptions skipping = Options(dir.path());
  skipping.skip_corruption = true;
  auto engine = OpenOk(skipping);
  ASSERT_NE(engine, nullptr);
  const EngineStats s = engine->stats();
  EXPECT_LT(s.replayed_events, 60u);
  EXPECT_GT(s.replayed_events, 30u);
  EXPECT_FALSE(s.recovery_messages.empty());
}

}  // namespace
}  // namespace flywheel

namespace flywheel {
namespace {

// Small parameters so that every model runs quickly in the sanitizer builds.
std::map<std::string, std::string> SmallParams(const std::string& model) {
  if (model == "bpr" || model == "twotower") {
    return {{"dim", "8"}};
  }
  if (model == "sasrec") {
    return {{"dim", "16"}, {"blocks", "1"}, {"max_len", "10"}, {"threads", "1"}};
  }
  if (model == "default") {
    return {{"sasrec.dim", "16"},
            {"sasrec.blocks", "1"},
            {"sasrec.max_len", "10"},
            {"sasrec.threads", "1"}};
  }
  return {};
}

// Every registered model, alone in an engine: recovery from a snapshot taken mid-stream plus the
// log after it gives exactly the state of an uninterrupted run (the model's SaveState/LoadState
// capture everything, random-generator state included).
TEST(EngineModelsTest, EveryModelRecoversBitIdentically) {
  const auto events = MakeEvents(600, 21);
  for (const std::string& name : model::KnownModels()) {
    SCOPED_TRACE(name);
    EngineOptions o;
    o.models = {ModelSpec{name, SmallParams(name)}};
    o.snapshot_on_close = false;
    uint32_t reference = 0;
    {
      TempDir dir;
      o.data_dir = dir.path();
      auto engine = OpenOk(o);
      ASSERT_NE(engine, nullptr);
      for (size_t i = 0; i < events.size(); i += 50) {
        ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 50)).status());
      }
      ASSERT_OK(engine->WaitForApplied(events.size(), 120000));
      reference = *engine->StateDigest();
    }
    TempDir dir;
    o.data_dir = dir.path();
    {
      auto engine = OpenOk(o);
      ASSERT_NE(engine, nullptr);
      for (size_t i = 0; i < 300; i += 50) {
        ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 50)).status());
      }
      ASSERT_OK(engine->WaitForApplied(300, 120000));
      ASSERT_OK(engine->Snapshot().status());
      ASSERT_OK(engine->Ingest(std::span(events).subspan(300, 100)).status());
    }
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(engine->stats().recovered_snapshot_seq, 300u);
    for (size_t i = 400; i < events.size(); i += 50) {
      ASSERT_OK(engine->Ingest(std::span(events).subspan(i, 50)).status());
    }
    ASSERT_OK(engine->WaitForApplied(events.size(), 120000));
    EXPECT_EQ(*engine->StateDigest(), reference);
    RecommendQuery q;
    q.user = "u1";
    auto rec = engine->Recommend(q);
    ASSERT_OK(rec.status());
    EXPECT_EQ(rec->items.size(), 10u);
  }
}

}  // namespace
}  // namespace flywheel

namespace flywheel::engine {
namespace {

// Users walk a ring of 20 items (next = previous + 1): a sequence a sequential model learns.
std::vector<Event> RingEvents(int users, int length) {
  std::vector<Event> events;
  base::Rng rng(5);
  TimestampMs ts = 1'700'000'000'000;
  for (int u = 0; u < users; ++u) {
    const int start = static_cast<int>(rng.Uniform(20));
    for (int t = 0; t < length; ++t) {
      Event e;
      e.user = "ring" + std::to_string(u);
      e.item = "r" + std::to_string((start + t) % 20);
      e.type = "view";
      e.ts_ms = ts += 1000;
      events.push_back(e);
    }
  }
  return events;
}

// The share of users whose top recommendation is the next ring item after their last one.
double NextItemShare(const Engine& engine, const std::vector<Event>& events) {
  std::map<std::string, std::string> last;
  for (const Event& e : events) {
    last[e.user] = e.item;
  }
  int hits = 0;
  for (const auto& [user, item] : last) {
    RecommendQuery q;
    q.user = user;
    q.k = 1;
    q.model = "sasrec";
    q.exclude_seen = false;
    auto r = engine.Recommend(q);
    EXPECT_OK(r.status());
    const std::string next = "r" + std::to_string((std::stoi(item.substr(1)) + 1) % 20);
    hits += r.ok() && !r->items.empty() && r->items[0].item == next ? 1 : 0;
  }
  return hits / static_cast<double>(last.size());
}

EngineOptions RingSasrecOptions(const std::string& dir, const std::string& scratch_lr) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"sasrec",
                                              {{"dim", "16"},
                                               {"blocks", "1"},
                                               {"max_len", "8"},
                                               {"epochs", "30"},
                                               {"lr", "0.01"},
                                               {"valid_users", "0"},
                                               {"threads", "1"},
                                               {"scratch_lr", scratch_lr}}}};
  o.pipeline.exploration = 0;
  o.pipeline.trending_candidates = 0;
  o.snapshot_on_close = false;
  return o;
}

// A served sasrec that was never pre-trained learns from the stream alone (scratch_lr).
TEST(EnginePretrainTest, UnpretrainedSasrecLearnsFromTheStream) {
  TempDir dir;
  auto engine = OpenOk(RingSasrecOptions(dir.path(), "0.003"));
  ASSERT_NE(engine, nullptr);
  const std::vector<Event> events = RingEvents(60, 12);
  auto r = engine->Ingest(events);
  ASSERT_OK(r.status());
  ASSERT_OK(engine->WaitForApplied(r->last_seq, 60000));
  EXPECT_GE(NextItemShare(*engine, events), 0.8) << "learned online from scratch";
  ASSERT_OK(engine->Close());
}

// Transfer, then online fine-tuning in the engine: Pretrain fits sasrec on the log, serves it
// at once, survives a restart (snapshot) and the model keeps learning from new events.
// scratch_lr 0: before the pretrain the online steps run at online_lr (1e-5) and leave the model
// untrained, so the gain is the pretrain's.
TEST(EnginePretrainTest, FitsOnTheLogServesItAndKeepsItAcrossARestart) {
  TempDir dir;
  EngineOptions o = RingSasrecOptions(dir.path(), "0");
  const std::vector<Event> events = RingEvents(60, 12);
  double before = 0;
  double after = 0;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    auto r = engine->Ingest(events);
    ASSERT_OK(r.status());
    ASSERT_OK(engine->WaitForApplied(r->last_seq, 60000));
    before = NextItemShare(*engine, events);  // online steps at 1e-5: untrained
    EXPECT_THAT(engine->Pretrain("nope"), StatusIs(StatusCode::kInvalidArgument));
    auto p = engine->Pretrain("sasrec");
    ASSERT_OK(p.status());
    EXPECT_EQ(p->model, "sasrec");
    EXPECT_EQ(p->events, events.size());
    EXPECT_EQ(p->first_seq, 1u);
    EXPECT_EQ(p->through_seq, r->last_seq);
    EXPECT_GE(p->snapshot_seq, r->last_seq);
    after = NextItemShare(*engine, events);
    ASSERT_OK(engine->Close());
  }
  EXPECT_LT(before, 0.3);
  EXPECT_GE(after, 0.9) << "pre-trained on the ring";
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().recovered_snapshot_seq, events.size());
  EXPECT_EQ(NextItemShare(*engine, events), after) << "the snapshot holds the pre-trained model";
  // Online learning continues on the pre-trained model: a new user's events are applied.
  std::vector<Event> more = {Event{"newbie", "r3", "view", 1.0, 1'800'000'000'000, "", {}},
                             Event{"newbie", "r4", "view", 1.0, 1'800'000'001'000, "", {}}};
  auto r = engine->Ingest(more);
  ASSERT_OK(r.status());
  ASSERT_OK(engine->WaitForApplied(r->last_seq, 60000));
  RecommendQuery q;
  q.user = "newbie";
  q.k = 1;
  q.model = "sasrec";
  auto rec = engine->Recommend(q);
  ASSERT_OK(rec.status());
  ASSERT_EQ(rec->items.size(), 1u);
  EXPECT_EQ(rec->items[0].item, "r5");
}

}  // namespace
}  // namespace flywheel::engine
