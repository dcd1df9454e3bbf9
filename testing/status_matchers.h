// GoogleTest helpers for Status and Result<T>:
//   EXPECT_OK(status_or_result); ASSERT_OK(...);
//   EXPECT_THAT(status, StatusIs(StatusCode::kInvalidArgument));
//   EXPECT_THAT(status, StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'ts'")));
#pragma once

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/result.h"
#include "flywheel/status.h"

namespace flywheel::testing {

inline const Status& GetStatus(const Status& status) {
  return status;
}
template <typename T>
const Status& GetStatus(const Result<T>& result) {
  return result.status();
}

MATCHER_P(StatusIs, code, "has status code " + std::string(StatusCodeName(code))) {
  return ::flywheel::testing::GetStatus(arg).code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const Status& status = ::flywheel::testing::GetStatus(arg);
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, status.message(), result_listener);
}

// The bytes of a file ("" when it cannot be read), and replacing them (tests that damage files).
std::string ReadFileBytes(const std::string& path);
void OverwriteFile(const std::string& path, const std::string& data);

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name and returns the full path.
  std::string WriteFile(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace flywheel::testing

namespace flywheel::testing {
// Predicate-formatter for EXPECT_OK / ASSERT_OK: evaluates the expression exactly once.
template <typename T>
::testing::AssertionResult IsOkFormat(const char* text, const T& value) {
  const Status& status = GetStatus(value);
  if (status.ok()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << text << " is " << status.ToString();
}
}  // namespace flywheel::testing

#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::flywheel::testing::IsOkFormat, expr)
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::flywheel::testing::IsOkFormat, expr)
