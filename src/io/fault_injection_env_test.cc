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

}  // namespace
}  // namespace flywheel::io
