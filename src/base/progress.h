// A one-line terminal progress bar for long loops (evaluation replays, dataset loads):
//
//   eval itemknn [#########.....................]  31% 151234/487650  212k ev/s  ETA 0:02
//
// Usage (the caller decides whether to draw; only a terminal should get '\r' redraws):
//
//   base::ProgressBar bar("eval itemknn", num_events, base::ProgressBar::StderrIsTty());
//   for (int64_t i = 0; i < num_events; ++i) {
//     ...;
//     bar.Update(i + 1);  // cheap: a store, a decrement and a compare on most calls
//   }
//   bar.Finish();  // final state plus a newline (also done by the destructor)
//
// Update() is meant to be called once per event in a hot loop. It reads the clock only every
// `stride` calls, where the stride adapts so that clock reads happen roughly every 10 ms, and it
// redraws at most 10 times per second. A disabled bar never reads the clock and never writes.
//
// Thread safety: not thread-safe; one thread owns a bar. Writes go to stderr (or the FILE*
// given to the testing constructor) and are flushed after each redraw.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>

namespace flywheel::base {

// Formats one progress line (no '\r', no newline). `bar_width` is the number of cells between
// the brackets. Rules:
//  - total > 0: "<label> [####....]  31% 151234/487650  212k ev/s  ETA 0:02"; percent and bar
//    are clamped to [0, 100] (done > total shows a full bar, 100% and "ETA 0:00" but the true
//    done count).
//  - total <= 0 (unknown total): "<label> 151234 ev  212k ev/s  0:02 elapsed" (no bar, no ETA).
//  - rate and ETA print as "- ev/s" and "ETA -:--" until both done > 0 and elapsed > 0.
// Rates use k/M suffixes ("950", "9.5k", "212k", "2.1M"); durations are m:ss or h:mm:ss.
std::string FormatProgressLine(std::string_view label, int64_t done, int64_t total,
                               double elapsed_seconds, int bar_width);

class ProgressBar {
 public:
  static constexpr int kBarWidth = 30;

  // `total` <= 0 means unknown. When `enabled` is false every call is a no-op (almost free).
  ProgressBar(std::string label, int64_t total, bool enabled);
  // For tests: draws to `out` (not owned; must outlive the bar) instead of stderr.
  ProgressBar(std::string label, int64_t total, bool enabled, std::FILE* out);
  ~ProgressBar();  // calls Finish()

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records progress (`done` items out of total) and redraws if ~100 ms passed since the last
  // redraw. Hot-path: inline, no clock read on most calls.
  void Update(int64_t done) {
    done_ = done;
    if (--countdown_ <= 0) {
      Tick();
    }
  }

  // Draws the final state followed by a newline. Only the first call has an effect; later
  // Update() calls are ignored.
  void Finish();

  // True when stderr is a terminal (isatty(STDERR_FILENO)); pass as `enabled`.
  static bool StderrIsTty();

  // Number of redraws so far (including the one done by Finish()); for tests.
  int64_t redraws() const { return redraws_; }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int64_t kDisabledCountdown = std::numeric_limits<int64_t>::max();

  void Tick();  // slow path of Update(): read the clock, adapt the stride, maybe redraw
  void Draw(bool final_line);
  double SecondsSince(Clock::time_point from, Clock::time_point to) const;

  std::string label_;
  int64_t total_;
  bool enabled_;
  std::FILE* out_;
  int64_t done_ = 0;
  int64_t countdown_;       // Update() calls left before the next Tick()
  int64_t stride_ = 1;      // Update() calls between clock reads; adapts to the call rate
  int64_t redraws_ = 0;     // lines drawn so far
  size_t last_length_ = 0;  // characters of the previous line, to blank leftovers
  Clock::time_point start_;
  Clock::time_point last_check_;
  Clock::time_point last_draw_;
};

}  // namespace flywheel::base
