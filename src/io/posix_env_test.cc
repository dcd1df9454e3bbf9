#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/env.h"
#include "testing/status_matchers.h"

namespace flywheel::io {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PosixEnvTest, WriteReadListRenameTruncateRemove) {
  flywheel::testing::TempDir tmp;
  Env* env = Env::Default();
  const std::string dir = JoinPath(tmp.path(), "d/e");
  ASSERT_OK(env->CreateDir(dir));
  ASSERT_OK(env->CreateDir(dir));  // exists: OK
  auto file = env->OpenWritable(JoinPath(dir, "b"));
  ASSERT_OK(file);
  ASSERT_OK((*file)->Append("hello world"));
  ASSERT_OK((*file)->Sync());
  ASSERT_OK((*file)->Close());
  EXPECT_THAT((*file)->Close(), StatusIs(StatusCode::kFailedPrecondition));
  ASSERT_OK(env->SyncDir(dir));
  EXPECT_EQ(*env->FileSize(JoinPath(dir, "b")), 11u);
  ASSERT_OK(env->Rename(JoinPath(dir, "b"), JoinPath(dir, "a")));
  EXPECT_THAT(*env->ListDir(dir), ElementsAre("a"));
  ASSERT_OK(env->Truncate(JoinPath(dir, "a"), 5));
  std::string data;
  ASSERT_OK(ReadFileToString(env, JoinPath(dir, "a"), &data));
  EXPECT_EQ(data, "hello");
  ASSERT_OK(env->RemoveFile(JoinPath(dir, "a")));
  EXPECT_FALSE(env->FileExists(JoinPath(dir, "a")));
}

// The log writer cuts a failed batch back with Truncate() while its file stays open; later
// appends must continue at the cut, not leave a hole of zeros (O_APPEND).
TEST(PosixEnvTest, AppendAfterTruncateContinuesAtTheCut) {
  flywheel::testing::TempDir tmp;
  Env* env = Env::Default();
  const std::string path = tmp.path() + "/f";
  auto file = env->OpenWritable(path);
  ASSERT_OK(file.status());
  ASSERT_OK((*file)->Append("abcdef"));
  ASSERT_OK(env->Truncate(path, 3));
  ASSERT_OK((*file)->Append("XY"));
  ASSERT_OK((*file)->Close());
  std::string contents;
  ASSERT_OK(ReadFileToString(env, path, &contents));
  EXPECT_EQ(contents, "abcXY");
}

TEST(PosixEnvTest, ErrorsNameThePath) {
  Env* env = Env::Default();
  EXPECT_THAT(env->OpenSequential("/nonexistent/x"),
              StatusIs(StatusCode::kNotFound, HasSubstr("/nonexistent/x")));
  EXPECT_THAT(env->OpenWritable("/nonexistent/x"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(env->ListDir("/nonexistent"), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(env->RemoveFile("/nonexistent/x"), StatusIs(StatusCode::kNotFound));
  EXPECT_FALSE(IsSyncFailure(Status::IoError("io: write x: EIO")));
}

TEST(PosixEnvTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

}  // namespace
}  // namespace flywheel::io
