#include "base/progress.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <unistd.h>

namespace flywheel::base {
namespace {

constexpr double kRedrawSeconds = 0.1;  // at most ~10 redraws per second
constexpr double kCheckSeconds = 0.01;  // aim for one clock read every ~10 ms
constexpr int64_t kMaxStride = int64_t{1} << 20;

// "950", "9.5k", "212k", "2.1M", "21M".
std::string FormatRate(double per_second) {
  char buf[32];
  if (per_second < 1e3) {
    std::snprintf(buf, sizeof(buf), "%.0f", per_second);
  } else if (per_second < 1e4) {
    std::snprintf(buf, sizeof(buf), "%.1fk", per_second / 1e3);
  } else if (per_second < 1e6) {
    std::snprintf(buf, sizeof(buf), "%.0fk", per_second / 1e3);
  } else if (per_second < 1e7) {
    std::snprintf(buf, sizeof(buf), "%.1fM", per_second / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0fM", per_second / 1e6);
  }
  return buf;
}

// "0:02", "12:34", "1:02:03"; durations past 9999 hours print as ">9999h".
std::string FormatDuration(double seconds) {
  if (!(seconds < 9999.0 * 3600.0)) {
    return ">9999h";
  }
  const auto total = static_cast<int64_t>(std::max(0.0, std::round(seconds)));
  const auto hours = static_cast<long long>(total / 3600);
  const auto minutes = static_cast<long long>(total / 60 % 60);
  const auto secs = static_cast<long long>(total % 60);
  char buf[32];
  if (hours > 0) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", hours, minutes, secs);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", minutes, secs);
  }
  return buf;
}

std::string Bar(double fraction, int width) {
  const int filled = static_cast<int>(fraction * width);
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

}  // namespace

std::string FormatProgressLine(std::string_view label, int64_t done, int64_t total,
                               double elapsed_seconds, int bar_width) {
  const bool have_rate = done > 0 && elapsed_seconds > 0;
  const double rate = have_rate ? static_cast<double>(done) / elapsed_seconds : 0.0;
  const std::string rate_text = (have_rate ? FormatRate(rate) : "-") + " ev/s";
  std::string line(label);
  char buf[64];
  if (total <= 0) {
    std::snprintf(buf, sizeof(buf), " %lld ev  ", static_cast<long long>(done));
    return line + buf + rate_text + "  " + FormatDuration(elapsed_seconds) + " elapsed";
  }
  const double fraction =
      std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
  std::snprintf(buf, sizeof(buf), " %3d%% %lld/%lld  ", static_cast<int>(fraction * 100.0),
                static_cast<long long>(done), static_cast<long long>(total));
  std::string eta = "-:--";
  if (done >= total) {
    eta = FormatDuration(0.0);
  } else if (have_rate) {
    eta = FormatDuration(static_cast<double>(total - done) / rate);
  }
  return line + " " + Bar(fraction, std::max(bar_width, 0)) + buf + rate_text + "  ETA " + eta;
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : ProgressBar(std::move(label), total, enabled, stderr) {}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && out != nullptr),
      out_(out),
      countdown_(enabled_ ? 1 : kDisabledCountdown),
      start_(Clock::now()),
      last_check_(start_),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  Finish();
}

bool ProgressBar::StderrIsTty() {
  return ::isatty(STDERR_FILENO) == 1;
}

double ProgressBar::SecondsSince(Clock::time_point from, Clock::time_point to) const {
  return std::chrono::duration<double>(to - from).count();
}

void ProgressBar::Tick() {
  if (!enabled_) {
    countdown_ = kDisabledCountdown;
    return;
  }
  const Clock::time_point now = Clock::now();
  // Double the stride while clock reads come too often, halve it when they come too rarely.
  const double since_check = SecondsSince(last_check_, now);
  if (since_check < kCheckSeconds && stride_ < kMaxStride) {
    stride_ *= 2;
  } else if (since_check > 4 * kCheckSeconds && stride_ > 1) {
    stride_ /= 2;
  }
  last_check_ = now;
  countdown_ = stride_;
  if (SecondsSince(last_draw_, now) >= kRedrawSeconds) {
    last_draw_ = now;
    Draw(/*final_line=*/false);
  }
}

void ProgressBar::Draw(bool final_line) {
  const std::string line =
      FormatProgressLine(label_, done_, total_, SecondsSince(start_, Clock::now()), kBarWidth);
  // Blank out what is left of a longer previous line (no terminal escape codes needed).
  const size_t pad = last_length_ > line.size() ? last_length_ - line.size() : 0;
  std::fprintf(out_, "\r%s%*s%s", line.c_str(), static_cast<int>(pad), "", final_line ? "\n" : "");
  std::fflush(out_);
  last_length_ = line.size();
  ++redraws_;
}

void ProgressBar::Finish() {
  if (!enabled_) {
    return;
  }
  Draw(/*final_line=*/true);
  enabled_ = false;
  countdown_ = kDisabledCountdown;
}

}  // namespace flywheel::base
