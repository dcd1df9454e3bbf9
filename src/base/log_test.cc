#include "base/log.h"

#include <cstdio>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::base {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kTs = 1700000000123;  // 2023-11-14T22:13:20.123Z

TEST(LogTest, JsonRecord) {
  Logger log(LogFormat::kJson, LogLevel::kInfo, stderr);
  EXPECT_EQ(log.Format(kTs, LogLevel::kWarn, "listening",
                       {{"address", "127.0.0.1:80"}, {"n", uint64_t{7}}, {"ms", 1.5}}),
            R"({"ts":"2023-11-14T22:13:20.123Z","level":"warn","msg":"listening",)"
            R"("address":"127.0.0.1:80","n":7,"ms":1.500})");
}

TEST(LogTest, TextRecordQuotesWhereNeeded) {
  Logger log(LogFormat::kText, LogLevel::kInfo, stderr);
  EXPECT_EQ(
      log.Format(
          kTs, LogLevel::kInfo, "request",
          {{"path", "/v1/stats"}, {"auth", "none (loopback only)"}, {"e", ""}, {"status", 200}}),
      "2023-11-14T22:13:20.123Z INFO request path=/v1/stats auth=\"none (loopback only)\" "
      "e=\"\" status=200");
}

TEST(LogTest, HostileTextStaysOneEscapedLine) {
  Logger log(LogFormat::kJson, LogLevel::kInfo, stderr);
  const std::string line =
      log.Format(kTs, LogLevel::kError, "a\nb", {{"p", std::string("q\"\\\x01\xff", 5)}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, HasSubstr(R"("msg":"a\u000ab")"));
  EXPECT_THAT(line, HasSubstr(R"("p":"q\"\\\u0001)"
                              "\xEF\xBF\xBD\""));
  Logger text(LogFormat::kText, LogLevel::kInfo, stderr);
  EXPECT_EQ(text.Format(kTs, LogLevel::kInfo, "m", {{"k", "a=b"}}),
            "2023-11-14T22:13:20.123Z INFO m k=\"a=b\"");
}

TEST(LogTest, LevelsFilterAndWriteWholeLines) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  Logger log(LogFormat::kText, LogLevel::kWarn, out);
  EXPECT_FALSE(log.Enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.Enabled(LogLevel::kError));
  log.Log(LogLevel::kInfo, "dropped");
  log.Log(LogLevel::kError, "kept", {{"x", 1}});
  std::rewind(out);
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, out);
  std::fclose(out);
  const std::string written(buf, n);
  EXPECT_THAT(written, HasSubstr(" ERROR kept x=1\n"));
  EXPECT_EQ(written.find("dropped"), std::string::npos);
}

TEST(LogTest, ParseFlags) {
  ASSERT_OK(ParseLogLevel("debug").status());
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_THAT(ParseLogLevel("verbose").status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'verbose'")));
  EXPECT_EQ(ParseLogFormat("xml").status().field(), "log-format");
}

}  // namespace
}  // namespace flywheel::base
