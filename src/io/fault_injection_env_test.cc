#include "io/fault_injection_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::io {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return tmp_.path() + "/" + name; }
  std::string Contents(const std::string& name) {
    std::string data;
    EXPECT_OK(ReadFileToString(&env_, Path(name), &data));
    return data;
  }
  flywheel::testing::TempDir tmp_;
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(FaultInjectionEnvTest, CrashDropsUnsyncedBytes) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  ASSERT_OK(env_.SyncDir(tmp_.path()));
  ASSERT_OK((*file)->Append("synced"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->Append("-lost"));
  EXPECT_EQ(env_.UnsyncedBytes(Path("a")), 5u);
  ASSERT_OK(env_.SimulateCrash());
  EXPECT_THAT((*file)->Append("x"), StatusIs(StatusCode::kIoError, HasSubstr("simulated crash")));
  env_.Reactivate();
  EXPECT_EQ(Contents("a"), "synced");
}

TEST_F(FaultInjectionEnvTest, CrashRemovesFilesWhoseDirectoryWasNotSynced) {
  auto file = env_.OpenWritable(Path("new"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("data"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK(env_.SimulateCrash());
  EXPECT_FALSE(env_.FileExists(Path("new")));
}

TEST_F(FaultInjectionEnvTest, FailNthWriteWritesHalfThenFails) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  env_.FailNthWrite(2);
  ASSERT_OK((*file)->Append("1234"));
  EXPECT_THAT((*file)->Append("abcdef"), StatusIs(StatusCode::kIoError));
  ASSERT_OK((*file)->Append("!"));
  EXPECT_EQ(Contents("a"), "1234abc!");
}

TEST_F(FaultInjectionEnvTest, FailNthSyncAndRename) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  env_.FailNthSync(1);
  const Status failed = (*file)->Sync();
  EXPECT_TRUE(IsSyncFailure(failed)) << failed.ToString();
  ASSERT_OK((*file)->Sync());
  env_.FailNthRename(1);
  EXPECT_THAT(env_.Rename(Path("a"), Path("b")), StatusIs(StatusCode::kIoError));
  ASSERT_OK(env_.Rename(Path("a"), Path("b")));
  EXPECT_TRUE(env_.FileExists(Path("b")));
}

TEST_F(FaultInjectionEnvTest, SpaceLimitWritesWhatFits) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  env_.SetSpaceLimit(5);
  ASSERT_OK((*file)->Append("abc"));
  EXPECT_THAT((*file)->Append("defg"), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_THAT((*file)->Append("h"), StatusIs(StatusCode::kResourceExhausted));
  EXPECT_EQ(Contents("a"), "abcde");
}

TEST_F(FaultInjectionEnvTest, CrashAtNthOperationHaltsThereAndKeepsDataUntilTheCrash) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  ASSERT_OK(env_.SyncDir(tmp_.path()));
  const int64_t before = env_.operations();
  env_.CrashAtNthOperation(3);  // append, sync, then the third: an append cut in half
  ASSERT_OK((*file)->Append("head"));
  ASSERT_OK((*file)->Sync());
  EXPECT_FALSE(env_.halted());
  const auto before_crash = std::chrono::steady_clock::now();
  EXPECT_THAT((*file)->Append("abcdef"), StatusIs(StatusCode::kIoError, HasSubstr("crash")));
  EXPECT_TRUE(env_.halted());
  EXPECT_GE(env_.halted_at(), before_crash);  // when the crash point was reached
  EXPECT_LE(env_.halted_at(), std::chrono::steady_clock::now());
  EXPECT_EQ(env_.operations(), before + 3);
  EXPECT_THAT((*file)->Sync(), StatusIs(StatusCode::kIoError));
  EXPECT_THAT(env_.Rename(Path("a"), Path("b")), StatusIs(StatusCode::kIoError));
  EXPECT_EQ(Contents("a"), "headabc");  // not dropped before SimulateCrash
  ASSERT_OK(env_.SimulateCrash());
  env_.Reactivate();
  EXPECT_EQ(Contents("a"), "head");
}

TEST_F(FaultInjectionEnvTest, HaltStopsEveryMutatingCall) {
  auto file = env_.OpenWritable(Path("a"));
  ASSERT_OK(file);
  env_.Halt();
  EXPECT_THAT((*file)->Append("x"), StatusIs(StatusCode::kIoError));
  EXPECT_THAT(env_.OpenWritable(Path("b")).status(), StatusIs(StatusCode::kIoError));
  EXPECT_THAT(env_.RemoveFile(Path("a")), StatusIs(StatusCode::kIoError));
  EXPECT_THAT(env_.SyncDir(tmp_.path()), StatusIs(StatusCode::kIoError));
  env_.Reactivate();
  EXPECT_OK((*file)->Append("x"));
}

// Torn tails: over many seeds, the file is the synced part, a prefix of the unsynced bytes, then
// (kZeros) only zero bytes or (kGarbage) arbitrary ones, never longer than what was written.
TEST_F(FaultInjectionEnvTest, TornTailsKeepAPrefixThenZerosOrGarbage) {
  const std::string synced = "synced|";
  const std::string unsynced = "0123456789abcdefghijklmnopqrstuvwxyz";
  int zero_tails = 0;
  int garbage_tails = 0;
  env_.set_forward_syncs(false);
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const bool zeros = seed % 2 == 0;
    env_.set_torn_tail(zeros ? FaultInjectionEnv::TornTail::kZeros
                             : FaultInjectionEnv::TornTail::kGarbage);
    auto file = env_.OpenWritable(Path("t"));
    ASSERT_OK(file);
    ASSERT_OK(env_.SyncDir(tmp_.path()));
    ASSERT_OK((*file)->Append(synced));
    ASSERT_OK((*file)->Sync());
    ASSERT_OK((*file)->Append(unsynced));
    file->reset();
    ASSERT_OK(env_.SimulateCrash(seed));
    env_.Reactivate();
    const std::string got = Contents("t");
    ASSERT_GE(got.size(), synced.size());
    ASSERT_LE(got.size(), synced.size() + unsynced.size());
    ASSERT_EQ(got.substr(0, synced.size()), synced);
    const std::string rest = got.substr(synced.size());
    size_t prefix = 0;
    while (prefix < rest.size() && rest[prefix] == unsynced[prefix]) {
      ++prefix;
    }
    const std::string tail = rest.substr(prefix);
    if (zeros) {
      EXPECT_EQ(tail, std::string(tail.size(), '\0')) << "seed " << seed;
      zero_tails += tail.empty() ? 0 : 1;
    } else {
      garbage_tails += tail.size() > 1 ? 1 : 0;
    }
  }
  EXPECT_GT(zero_tails, 5);  // the fill happens, not only the cut
  EXPECT_GT(garbage_tails, 5);
}

// Safe replacement without the directory sync: after a crash either the old file is back (and the
// temporary one under its old name) or the new one is there, never neither.
TEST_F(FaultInjectionEnvTest, UnsyncedRenameIsKeptOrUndoneNeverLost) {
  env_.set_undo_unsynced_names(true);
  int undone = 0;
  int kept = 0;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    {
      auto old_file = env_.OpenWritable(Path("cfg"));
      ASSERT_OK(old_file);
      ASSERT_OK((*old_file)->Append("old"));
      ASSERT_OK((*old_file)->Sync());
      auto tmp = env_.OpenWritable(Path("cfg.tmp"));
      ASSERT_OK(tmp);
      ASSERT_OK((*tmp)->Append("new"));
      ASSERT_OK((*tmp)->Sync());
      ASSERT_OK(env_.SyncDir(tmp_.path()));  // both names durable
    }
    ASSERT_OK(env_.Rename(Path("cfg.tmp"), Path("cfg")));
    ASSERT_OK(env_.SimulateCrash(seed));
    env_.Reactivate();
    const std::string now = Contents("cfg");
    if (now == "old") {
      ++undone;
      EXPECT_EQ(Contents("cfg.tmp"), "new") << "seed " << seed;
    } else {
      ++kept;
      EXPECT_EQ(now, "new") << "seed " << seed;
      EXPECT_FALSE(env_.FileExists(Path("cfg.tmp")));
    }
    if (seed == 0) {
      EXPECT_EQ(now, "old");  // seed 0: the worst case, undone
    }
    ASSERT_OK(env_.SyncDir(tmp_.path()));
    if (env_.FileExists(Path("cfg.tmp"))) {
      ASSERT_OK(env_.RemoveFile(Path("cfg.tmp")));
      ASSERT_OK(env_.SyncDir(tmp_.path()));
    }
  }
  EXPECT_GT(undone, 1);
  EXPECT_GT(kept, 1);
}

TEST_F(FaultInjectionEnvTest, UnsyncedRemovalCanComeBack) {
  env_.set_undo_unsynced_names(true);
  auto file = env_.OpenWritable(Path("seg"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("durable"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->Append("-not"));
  ASSERT_OK(env_.SyncDir(tmp_.path()));
  ASSERT_OK(env_.RemoveFile(Path("seg")));
  EXPECT_FALSE(env_.FileExists(Path("seg")));
  ASSERT_OK(env_.SimulateCrash(0));
  env_.Reactivate();
  EXPECT_EQ(Contents("seg"), "durable");
  // Once the directory is synced, the removal is durable.
  ASSERT_OK(env_.RemoveFile(Path("seg")));
  ASSERT_OK(env_.SyncDir(tmp_.path()));
  ASSERT_OK(env_.SimulateCrash(0));
  env_.Reactivate();
  EXPECT_FALSE(env_.FileExists(Path("seg")));
}

// In order (a journaling file system), a crash undoes a suffix of the unsynced removals; out of
// order (what POSIX allows) any subset.
TEST_F(FaultInjectionEnvTest, UndoneRemovalsAreASuffixInOrderAnySubsetOtherwise) {
  env_.set_forward_syncs(false);  // the bookkeeping is what is tested; real fsyncs only cost time
  for (const bool in_order : {true, false}) {
    env_.set_undo_unsynced_names(true, in_order);
    bool non_suffix = false;
    int partly = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      for (const char* name : {"a", "b", "c"}) {
        auto file = env_.OpenWritable(Path(name));
        ASSERT_OK(file);
        ASSERT_OK((*file)->Append(name));
        ASSERT_OK((*file)->Sync());
      }
      ASSERT_OK(env_.SyncDir(tmp_.path()));
      for (const char* name : {"a", "b", "c"}) {
        ASSERT_OK(env_.RemoveFile(Path(name)));
      }
      ASSERT_OK(env_.SimulateCrash(seed));
      env_.Reactivate();
      const bool a = env_.FileExists(Path("a"));
      const bool b = env_.FileExists(Path("b"));
      const bool c = env_.FileExists(Path("c"));
      if (in_order) {
        EXPECT_TRUE((!a || b) && (!b || c)) << "seed " << seed << ": " << a << b << c;
      }
      non_suffix = non_suffix || (a && !b) || (b && !c);
      partly += (a || b || c) && !(a && b && c) ? 1 : 0;
      for (const char* name : {"a", "b", "c"}) {
        if (env_.FileExists(Path(name))) {
          ASSERT_OK(Env::Default()->RemoveFile(Path(name)));
        }
      }
    }
    EXPECT_GT(partly, 0);
    EXPECT_EQ(non_suffix, !in_order);
  }
}

}  // namespace
}  // namespace flywheel::io
