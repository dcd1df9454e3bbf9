// Helpers shared by the libFuzzer targets of fuzz/ (doc/fuzzing.md).
//
// Readers that take a path get the fuzz input through files in a per-process scratch directory
// (under $TMPDIR, removed at exit). Targets that need several files (a MovieLens directory: the
// ratings, the movies, the tags) split one input into parts at kPartSeparator, so that the seed
// corpus stays readable text. FUZZ_CHECK states a property of the parser (a round trip, an
// invariant); a violation aborts, which libFuzzer reports as a crash with its input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/event.h"

namespace flywheel::fuzz {

// The line that separates the files of one input ("\n=====\n").
inline constexpr std::string_view kPartSeparator = "\n=====\n";

// The input's bytes as a string_view.
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Two events with the same fields (the round trips of the event parsers).
inline bool SameEvent(const Event& a, const Event& b) {
  return a.user == b.user && a.item == b.item && a.type == b.type && a.value == b.value &&
         a.ts_ms == b.ts_ms && a.id == b.id && a.context == b.context;
}

// At most `max_parts` parts of `data`, split at kPartSeparator (the last part keeps any further
// separators). Always at least one part.
std::vector<std::string_view> SplitParts(std::string_view data, size_t max_parts);

// The scratch directory of this process (created on first use, removed at exit).
const std::string& ScratchDir();
// A fresh, empty sub-directory of the scratch directory (the previous input's files removed).
std::string FreshDir();
// Writes `bytes` to `dir`/`name` and returns the path; aborts when the file cannot be written.
std::string WriteFile(const std::string& dir, std::string_view name, std::string_view bytes);

}  // namespace flywheel::fuzz

// Aborts with a message when a parser's property does not hold (libFuzzer keeps the input).
#define FUZZ_CHECK(cond, what)                                                               \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s: %s\n", #cond, std::string(what).c_str()); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
