#include "base/progress.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flywheel::base {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(FormatProgressLineTest, MatchesDocumentedLayout) {
  // 151234 events in 0.7 s = 216k ev/s; 336416 left at that rate = 1.56 s -> "0:02".
  EXPECT_EQ(FormatProgressLine("eval itemknn", 151234, 487650, 0.7, 30),
            "eval itemknn [#########.....................]  31% 151234/487650  216k ev/s  "
            "ETA 0:02");
}

TEST(FormatProgressLineTest, PercentIsFlooredAndBarMatchesIt) {
  EXPECT_THAT(FormatProgressLine("x", 0, 10, 1.0, 10), HasSubstr("[..........]   0% 0/10"));
  EXPECT_THAT(FormatProgressLine("x", 5, 10, 1.0, 10), HasSubstr("[#####.....]  50% 5/10"));
  EXPECT_THAT(FormatProgressLine("x", 999, 1000, 1.0, 10), HasSubstr("[#########.]  99% 999/"));
  EXPECT_THAT(FormatProgressLine("x", 10, 10, 1.0, 10), HasSubstr("[##########] 100% 10/10"));
}

TEST(FormatProgressLineTest, RateUsesSuffixes) {
  EXPECT_THAT(FormatProgressLine("x", 950, 10000, 1.0, 4), HasSubstr("  950 ev/s"));
  EXPECT_THAT(FormatProgressLine("x", 9500, 100000, 1.0, 4), HasSubstr("  9.5k ev/s"));
  EXPECT_THAT(FormatProgressLine("x", 212000, 1000000, 1.0, 4), HasSubstr("  212k ev/s"));
  EXPECT_THAT(FormatProgressLine("x", 2100000, 10000000, 1.0, 4), HasSubstr("  2.1M ev/s"));
  EXPECT_THAT(FormatProgressLine("x", 42000000, 100000000, 2.0, 4), HasSubstr("  21M ev/s"));
}

TEST(FormatProgressLineTest, EtaFormatsMinutesAndHours) {
  // 10 ev/s: 600 left -> 1:00; 36610 left -> 1:01:01.
  EXPECT_THAT(FormatProgressLine("x", 10, 610, 1.0, 4), EndsWith("ETA 1:00"));
  EXPECT_THAT(FormatProgressLine("x", 10, 36620, 1.0, 4), EndsWith("ETA 1:01:01"));
  EXPECT_THAT(FormatProgressLine("x", 1, 1000000000000, 1.0, 4), EndsWith("ETA >9999h"));
}

TEST(FormatProgressLineTest, UnknownRateBeforeFirstEventOrTick) {
  EXPECT_THAT(FormatProgressLine("x", 0, 100, 5.0, 4), EndsWith("- ev/s  ETA -:--"));
  EXPECT_THAT(FormatProgressLine("x", 50, 100, 0.0, 4), EndsWith("- ev/s  ETA -:--"));
}

TEST(FormatProgressLineTest, ZeroTotalShowsCountAndElapsedWithoutBar) {
  const std::string line = FormatProgressLine("load", 1500, 0, 75.0, 30);
  EXPECT_EQ(line, "load 1500 ev  20 ev/s  1:15 elapsed");
  EXPECT_THAT(line, Not(HasSubstr("[")));
  EXPECT_THAT(line, Not(HasSubstr("%")));
}

TEST(FormatProgressLineTest, DoneBeyondTotalIsClampedButCountIsTrue) {
  const std::string line = FormatProgressLine("x", 15, 10, 1.0, 10);
  EXPECT_THAT(line, HasSubstr("[##########] 100% 15/10"));
  EXPECT_THAT(line, EndsWith("ETA 0:00"));
}

TEST(FormatProgressLineTest, NegativeDoneIsClampedToEmptyBar) {
  EXPECT_THAT(FormatProgressLine("x", -5, 10, 1.0, 4), HasSubstr("[....]   0% -5/10"));
}

// Reads everything written to `file` so far.
std::string ReadAll(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), file)) > 0;) {
    text.append(buf, n);
  }
  return text;
}

TEST(ProgressBarTest, DisabledBarWritesNothing) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressBar bar("quiet", 100, /*enabled=*/false, file);
    for (int64_t i = 1; i <= 100; ++i) {
      bar.Update(i);
    }
    bar.Finish();
    EXPECT_EQ(bar.redraws(), 0);
  }
  EXPECT_EQ(ReadAll(file), "");
  std::fclose(file);
}

TEST(ProgressBarTest, FinishDrawsFinalStateOnceWithNewline) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressBar bar("eval pop", 1000, /*enabled=*/true, file);
    for (int64_t i = 1; i <= 1000; ++i) {
      bar.Update(i);
    }
    bar.Finish();
    bar.Finish();   // second call: no effect
    bar.Update(5);  // after Finish: ignored
  }                 // destructor: no effect either
  const std::string text = ReadAll(file);
  EXPECT_THAT(text, StartsWith("\reval pop ["));
  EXPECT_THAT(text, HasSubstr("] 100% 1000/1000  "));
  EXPECT_THAT(text, EndsWith("ETA 0:00\n"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  std::fclose(file);
}

TEST(ProgressBarTest, HotLoopRedrawsAtMostTenTimesPerSecond) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  const auto start = std::chrono::steady_clock::now();
  int64_t redraws = 0;
  {
    constexpr int64_t kTotal = 5'000'000;
    ProgressBar bar("hot", kTotal, /*enabled=*/true, file);
    for (int64_t i = 1; i <= kTotal; ++i) {
      bar.Update(i);
    }
    bar.Finish();
    redraws = bar.redraws();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string text = ReadAll(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), redraws);
  // One redraw per 100 ms at most, plus the final line.
  EXPECT_LE(redraws, static_cast<int64_t>(seconds * 10) + 2) << "seconds=" << seconds;
  std::fclose(file);
}

TEST(ProgressBarTest, SlowLoopRedrawsBeforeFinish) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  int64_t redraws = 0;
  {
    ProgressBar bar("slow", 0, /*enabled=*/true, file);
    for (int64_t i = 1; i <= 30; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      bar.Update(i);
    }
    bar.Finish();
    redraws = bar.redraws();
  }
  // 300 ms of updates every 10 ms: the stride stays small, so intermediate redraws happen.
  EXPECT_GE(redraws, 2);
  const std::string text = ReadAll(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), redraws);
  EXPECT_THAT(text, HasSubstr("\rslow 30 ev  "));
  EXPECT_THAT(text, EndsWith(" elapsed\n"));
  std::fclose(file);
}

}  // namespace
}  // namespace flywheel::base
