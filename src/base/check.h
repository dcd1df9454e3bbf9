// Always-on invariant checks (abort with file:line and a message) and debug-only DCHECKs.
// Use only for our own invariants; user input and file contents get a Status instead.
//   FLYWHEEL_CHECK(offset <= size) << "block offset " << offset;
#pragma once

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace flywheel::base {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": check failed: " << condition << ": ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace flywheel::base

#define FLYWHEEL_CHECK(cond) \
  if (cond) {                \
  } else                     \
    ::flywheel::base::CheckFailure(__FILE__, __LINE__, #cond).stream()

#ifdef NDEBUG
#define FLYWHEEL_DCHECK(cond) \
  if (true) {                 \
  } else                      \
    ::flywheel::base::CheckFailure(__FILE__, __LINE__, #cond).stream()
#else
#define FLYWHEEL_DCHECK(cond) FLYWHEEL_CHECK(cond)
#endif
