// Generic events files (data/events_file_reader.cc): the first byte picks CSV or JSON Lines and
// the skip policy; the rest is the events file and, after kPartSeparator, its items file
// (<stem>.items.jsonl). Never a crash.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "fuzz_util.h"
#include "reader_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const flywheel::EventTypeTable types = flywheel::EventTypeTable::Default();
  const bool json = (data[0] & 1) != 0;
  const flywheel::data::SkipPolicy skip = flywheel::fuzz::SkipFromByte(data[0]);
  const auto parts = flywheel::fuzz::SplitParts(flywheel::fuzz::AsText(data + 1, size - 1), 2);
  const std::string dir = flywheel::fuzz::FreshDir();
  const std::string path =
      flywheel::fuzz::WriteFile(dir, json ? "events.jsonl" : "events.csv", parts[0]);
  if (parts.size() > 1) {
    flywheel::fuzz::WriteFile(dir, "events.items.jsonl", parts[1]);
  }
  flywheel::fuzz::Drain(flywheel::data::OpenEventsFile(path, types, skip), skip);
  return 0;
}
