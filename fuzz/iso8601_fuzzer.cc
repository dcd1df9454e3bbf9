// ISO-8601 times (base/time_util.h): ParseIso8601 never crashes, and what it accepts formats
// back (FormatIso8601) to a text that parses to the same instant.
#include <cstddef>
#include <cstdint>

#include "base/time_util.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = flywheel::fuzz::AsText(data, size);
  const auto ts = flywheel::base::ParseIso8601(text);
  if (!ts.ok()) {
    return 0;
  }
  const std::string formatted = flywheel::base::FormatIso8601(*ts);
  const auto again = flywheel::base::ParseIso8601(formatted);
  FUZZ_CHECK(again.ok(), "formatted time does not parse: " + formatted);
  FUZZ_CHECK(*again == *ts, "round trip changed the time: " + formatted);
  return 0;
}
