// Snapshot redundancy (doc/engine.md, "Redundancy and what one bad byte can cost"): one flipped
// byte in any one snapshot or in a log segment that a loaded snapshot covers never makes the
// data directory unopenable, also after a user was forgotten; a new snapshot is read back before
// older ones go; leftover temp files are removed at open; the time-based snapshot policy.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "engine/store/snapshot_file.h"
#include "io/env.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

std::vector<Event> Events(const std::vector<std::string>& users, size_t first, size_t n) {
  std::vector<Event> events;
  for (size_t i = first; i < first + n; ++i) {
    Event e;
    e.user = users[i % users.size()];
    e.item = "i" + std::to_string(i * 7 % 23);
    e.type = i % 5 == 0 ? "purchase" : "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>(i) * 1000;
    e.id = "e" + std::to_string(i);
    events.push_back(e);
  }
  return events;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  o.snapshot_on_close = false;
  o.keep_snapshots = 2;
  return o;
}

std::unique_ptr<Engine> OpenOk(const EngineOptions& o) {
  auto engine = Engine::Open(o);
  EXPECT_OK(engine.status());
  return engine.ok() ? std::move(engine).value() : nullptr;
}

void Ingest(Engine* engine, const std::vector<Event>& events) {
  auto r = engine->Ingest(events);
  ASSERT_OK(r.status());
  ASSERT_OK(engine->WaitForApplied(r->last_seq, 20000));
}

void FlipByte(const std::string& path, size_t offset) {
  std::string bytes;
  ASSERT_OK(io::ReadFileToString(io::Env::Default(), path, &bytes));
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x20);
  auto file = io::Env::Default()->OpenWritable(path);
  ASSERT_OK(file.status());
  ASSERT_OK((*file)->Append(bytes));
  ASSERT_OK((*file)->Close());
}

std::vector<std::string> Files(const std::string& dir) {
  auto names = io::Env::Default()->ListDir(dir);
  return names.ok() ? *names : std::vector<std::string>{};
}

// Every byte of every file under dir/wal and dir/snapshots.
std::string AllBytes(const std::string& dir) {
  std::string all;
  for (const char* sub : {"wal", "snapshots"}) {
    const std::string path = io::JoinPath(dir, sub);
    for (const std::string& name : Files(path)) {
      std::string bytes;
      EXPECT_OK(io::ReadFileToString(io::Env::Default(), io::JoinPath(path, name), &bytes));
      all += bytes;
    }
  }
  return all;
}

// Issue 17 item 1: after a forget, the directory held one snapshot and no older log, and one
// flipped byte in it lost every event. Now the purge snapshot is written twice (each copy read
// back and checked): a flipped byte in either copy costs nothing.
TEST(SnapshotRedundancyTest, AfterAForgetOneFlippedByteInEitherSnapshotFileLosesNothing) {
  const std::string secret = "user-secret-0815";
  for (size_t victim = 0; victim < 2; ++victim) {
    SCOPED_TRACE("damaged file #" + std::to_string(victim));
    TempDir dir;
    const EngineOptions o = Options(dir.path());
    uint32_t digest = 0;
    {
      auto engine = OpenOk(o);
      ASSERT_NE(engine, nullptr);
      Ingest(engine.get(), Events({"keep-1", secret, "keep-2"}, 0, 90));
      ASSERT_OK(engine->Snapshot().status());
      Ingest(engine.get(), Events({"keep-1", secret, "keep-2"}, 90, 30));
      ASSERT_OK(engine->ForgetUser(secret).status());
      digest = *engine->StateDigest();
      ASSERT_OK(engine->Close());
    }
    const std::string snap_dir = io::JoinPath(dir.path(), "snapshots");
    const std::vector<std::string> files = Files(snap_dir);
    ASSERT_EQ(files.size(), 2u) << "the purge snapshot and its copy";
    EXPECT_EQ(AllBytes(dir.path()).find(secret), std::string::npos) << "the id is still on disk";
    const std::string path = io::JoinPath(snap_dir, files[victim]);
    auto size = io::Env::Default()->FileSize(path);
    ASSERT_OK(size.status());
    FlipByte(path, *size / 2);
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(*engine->StateDigest(), digest);
    EXPECT_EQ(engine->stats().users, 2u);
    EXPECT_EQ(engine->stats().recovered_snapshot_seq, 121u);
    if (engine::ParseSnapshotFileName(files[victim])) {  // the copy is read only when needed
      EXPECT_THAT(engine->stats().recovery_messages,
                  ::testing::Contains(HasSubstr("skipped snapshot file " + files[victim])));
    }
  }
}

// A crash during a purge, after the copy was written but before the snapshot itself: the open
// loads the copy, writes the snapshot (and copy) again and removes the older snapshot that still
// holds the forgotten user. A damaged snapshot with a good copy is rewritten the same way.
TEST(SnapshotRedundancyTest, AnInterruptedOrDamagedPurgeIsFinishedAtOpen) {
  const std::string secret = "user-secret-4242";
  TempDir dir;
  const EngineOptions o = Options(dir.path());
  const std::string snap_dir = io::JoinPath(dir.path(), "snapshots");
  std::string older;
  uint64_t purge_seq = 0;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    Ingest(engine.get(), Events({"keep-1", secret}, 0, 60));
    ASSERT_OK(engine->Snapshot().status());
    ASSERT_OK(io::ReadFileToString(io::Env::Default(),
                                   io::JoinPath(snap_dir, engine::SnapshotFileName(60)), &older));
    auto forgot = engine->ForgetUser(secret);
    ASSERT_OK(forgot.status());
    purge_seq = forgot->snapshot_seq;
    ASSERT_OK(engine->Close());
  }
  // As the crash would leave it: the older snapshot still there, the purge snapshot not yet.
  ASSERT_OK(
      io::Env::Default()->RemoveFile(io::JoinPath(snap_dir, engine::SnapshotFileName(purge_seq))));
  {
    auto file =
        io::Env::Default()->OpenWritable(io::JoinPath(snap_dir, engine::SnapshotFileName(60)));
    ASSERT_OK(file.status());
    ASSERT_OK((*file)->Append(older));
    ASSERT_OK((*file)->Close());
  }
  ASSERT_NE(AllBytes(dir.path()).find(secret), std::string::npos);
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().recovered_snapshot_seq, purge_seq);
  EXPECT_EQ(engine->stats().users, 1u);
  EXPECT_EQ(AllBytes(dir.path()).find(secret), std::string::npos) << "the id is still on disk";
  EXPECT_THAT(Files(snap_dir),
              ::testing::UnorderedElementsAre(engine::SnapshotFileName(purge_seq),
                                              engine::SnapshotCopyFileName(purge_seq)));
  EXPECT_THAT(engine->stats().recovery_messages,
              ::testing::Contains(HasSubstr("wrote the snapshot and its copy again")));
}

// The copy of a purge snapshot is only needed until a newer snapshot is verified: then that one
// and the log since the purge snapshot are the redundancy.
TEST(SnapshotRedundancyTest, ThePurgeCopyGoesOnceANewerSnapshotIsVerified) {
  TempDir dir;
  auto engine = OpenOk(Options(dir.path()));
  ASSERT_NE(engine, nullptr);
  Ingest(engine.get(), Events({"a", "b"}, 0, 40));
  auto forgot = engine->ForgetUser("a");
  ASSERT_OK(forgot.status());
  const std::string snap_dir = io::JoinPath(dir.path(), "snapshots");
  EXPECT_EQ(Files(snap_dir).size(), 2u);
  Ingest(engine.get(), Events({"b", "c"}, 40, 10));
  auto next = engine->Snapshot();
  ASSERT_OK(next.status());
  EXPECT_THAT(Files(snap_dir),
              ::testing::ElementsAre(engine::SnapshotFileName(forgot->snapshot_seq),
                                     engine::SnapshotFileName(*next)));
}

// An Env that flips one byte of every append to a snapshot temp file once armed: a write that
// "succeeds" but whose bytes are wrong on disk.
class CorruptingEnv final : public io::Env {
 public:
  explicit CorruptingEnv(io::Env* base) : base_(base) {}
  void Arm() { armed_ = true; }

  Result<std::unique_ptr<io::WritableFile>> OpenWritable(const std::string& path) override {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file, base_->OpenWritable(path));
    if (!armed_ || !path.ends_with(".fws.tmp")) {
      return file;
    }
    return std::unique_ptr<io::WritableFile>(new Corrupting(std::move(file)));
  }
  Result<std::unique_ptr<io::SequentialFile>> OpenSequential(const std::string& path) override {
    return base_->OpenSequential(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status Truncate(const std::string& path, uint64_t size) override {
    return base_->Truncate(path, size);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }

 private:
  class Corrupting final : public io::WritableFile {
   public:
    explicit Corrupting(std::unique_ptr<io::WritableFile> file) : file_(std::move(file)) {}
    Status Append(std::string_view data) override {
      std::string bad(data);
      if (!bad.empty()) {
        bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x01);
      }
      return file_->Append(bad);
    }
    Status Sync() override { return file_->Sync(); }
    Status Close() override { return file_->Close(); }

   private:
    std::unique_ptr<io::WritableFile> file_;
  };

  io::Env* const base_;
  std::atomic<bool> armed_{false};
};

TEST(SnapshotRedundancyTest, ANewSnapshotIsReadBackBeforeOlderOnesAreRemoved) {
  TempDir dir;
  CorruptingEnv env(io::Env::Default());
  EngineOptions o = Options(dir.path());
  o.env = &env;
  uint32_t digest = 0;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    Ingest(engine.get(), Events({"a", "b", "c"}, 0, 60));
    ASSERT_OK(engine->Snapshot().status());
    Ingest(engine.get(), Events({"a", "b", "c"}, 60, 60));
    env.Arm();
    EXPECT_THAT(engine->Snapshot().status(),
                StatusIs(StatusCode::kCorruption, HasSubstr("read back")));
    // Same for a forget: the purge must not drop the good snapshot for a bad one.
    EXPECT_THAT(engine->ForgetUser("a").status(), StatusIs(StatusCode::kCorruption));
    digest = *engine->StateDigest();
    ASSERT_OK(engine->Close());
  }
  EXPECT_THAT(Files(io::JoinPath(dir.path(), "snapshots")),
              ::testing::ElementsAre(engine::SnapshotFileName(60)));
  o.env = nullptr;
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().recovered_snapshot_seq, 60u);
  EXPECT_EQ(engine->stats().replayed_events, 61u);  // 60 events and the user deletion
  EXPECT_EQ(*engine->StateDigest(), digest);
}

// Issue 17 item 4: a kill during a snapshot leaves snap-*.fws.tmp behind, which may hold a
// forgotten user's id. Open removes them (a read-only open changes nothing).
TEST(SnapshotRedundancyTest, LeftoverTempFilesAreRemovedAtOpen) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    ASSERT_OK(engine->Close());
  }
  const std::string snap_dir = io::JoinPath(dir.path(), "snapshots");
  const std::string tmp = engine::SnapshotFileName(42) + ".tmp";
  {
    auto file = io::Env::Default()->OpenWritable(io::JoinPath(snap_dir, tmp));
    ASSERT_OK(file.status());
    ASSERT_OK((*file)->Append("FWSNAP01 ... forgotten-user-77 ..."));
    ASSERT_OK((*file)->Close());
  }
  {
    EngineOptions ro = o;
    ro.read_only = true;
    auto engine = OpenOk(ro);
    ASSERT_NE(engine, nullptr);
    EXPECT_THAT(Files(snap_dir), ::testing::ElementsAre(tmp));
  }
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_THAT(Files(snap_dir), ::testing::IsEmpty());
  EXPECT_EQ(AllBytes(dir.path()).find("forgotten-user-77"), std::string::npos);
  EXPECT_THAT(engine->stats().recovery_messages,
              ::testing::Contains(HasSubstr("removed leftover " + tmp)));
}

// Issue 17 item 7 (part): damage in a segment that the loaded snapshot already covers does not
// block the open; it matters only when that snapshot is bad too and recovery falls back.
TEST(SnapshotRedundancyTest, DamageInASegmentTheSnapshotCoversDoesNotBlockOpen) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.segment_bytes = 4096;  // many small segments
  o.snapshot_every = 250;
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    for (size_t i = 0; i < 1000; i += 50) {
      Ingest(engine.get(), Events({"a", "b", "c", "d"}, i, 50));
    }
    ASSERT_OK(engine->Close());
  }
  // Snapshots 750 and 1000 are kept, and the log from 751 on (the fallback to 750 needs it).
  const std::string wal_dir = io::JoinPath(dir.path(), "wal");
  const std::string first_segment = io::JoinPath(wal_dir, Files(wal_dir).front());
  FlipByte(first_segment, 200);
  {
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(engine->stats().recovered_snapshot_seq, 1000u);
    EXPECT_EQ(engine->stats().replayed_events, 0u);
  }
  // With the newest snapshot damaged too, the fallback to 750 needs the damaged segment: the
  // open is refused, naming both, unless damaged spans may be skipped.
  FlipByte(io::JoinPath(dir.path(), "snapshots/" + engine::SnapshotFileName(1000)), 100);
  auto refused = Engine::Open(o);
  EXPECT_THAT(refused.status(), StatusIs(StatusCode::kCorruption, HasSubstr(first_segment)));
  EXPECT_THAT(refused.status().message(), HasSubstr(engine::SnapshotFileName(1000)));
  o.skip_corruption = true;
  auto engine = OpenOk(o);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->stats().recovered_snapshot_seq, 750u);
}

TEST(SnapshotRedundancyTest, KeepingFewerThanTwoSnapshotsIsRejected) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.keep_snapshots = 1;
  EXPECT_THAT(Engine::Open(o).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("keep_snapshots")));
}

// Issue 17 item 8: snapshots every N events or M milliseconds, whichever comes first.
TEST(SnapshotPolicyTest, AnElapsedIntervalTriggersASnapshotAtTheNextEvent) {
  for (const uint64_t interval_ms : {uint64_t{0}, uint64_t{1}}) {
    SCOPED_TRACE("interval_ms " + std::to_string(interval_ms));
    TempDir dir;
    EngineOptions o = Options(dir.path());
    o.snapshot_every = 0;
    o.snapshot_interval_ms = interval_ms;
    auto engine = OpenOk(o);
    ASSERT_NE(engine, nullptr);
    Ingest(engine.get(), Events({"a"}, 0, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // > interval: not a timing
    Ingest(engine.get(), Events({"a"}, 1, 1));
    ASSERT_OK(engine->Close());  // the learner's snapshot (if any) has finished
    EXPECT_EQ(Files(io::JoinPath(dir.path(), "snapshots")).empty(), interval_ms == 0);
  }
}

TEST(SnapshotPolicyTest, TheDefaultPolicySnapshotsByCountAndTime) {
  const EngineOptions o;
  EXPECT_EQ(o.snapshot_every, 100'000u);
  EXPECT_EQ(o.snapshot_interval_ms, 300'000u);
  EXPECT_TRUE(o.snapshot_on_close);
  EXPECT_GE(o.keep_snapshots, 2);
}

}  // namespace
}  // namespace flywheel
