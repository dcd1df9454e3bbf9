// The event log reader (wal/log_reader.h, doc/formats/event_log.md) over real files: the first
// byte picks start_seq; the rest is split at kPartSeparator into up to three segments
// (000001.log ...). Each log is read strictly and with tolerate_corruption; never a crash.
// Property (recovery): when the strict read succeeds, TruncateTail followed by a second strict
// read returns the same records and finds no torn tail.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/env.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"

namespace {

using flywheel::wal::LogReader;
using flywheel::wal::ReaderOptions;
using flywheel::wal::ReadReport;

// Reads the whole log: the number of records, or -1 on error.
int64_t ReadAll(const std::string& dir, const ReaderOptions& options, ReadReport* report) {
  auto reader = LogReader::Open(flywheel::io::Env::Default(), dir, options);
  if (!reader.ok()) {
    return -1;
  }
  flywheel::wal::LogRecord record;
  int64_t records = 0;
  while (true) {
    const auto next = (*reader)->Next(&record);
    if (!next.ok()) {
      return -1;
    }
    if (!*next) {
      break;
    }
    ++records;
  }
  *report = (*reader)->report();
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  ReaderOptions options;
  options.start_seq = data[0] % 8;
  const auto parts = flywheel::fuzz::SplitParts(flywheel::fuzz::AsText(data + 1, size - 1), 3);
  const std::string dir = flywheel::fuzz::FreshDir();
  for (size_t i = 0; i < parts.size(); ++i) {
    flywheel::fuzz::WriteFile(dir, flywheel::wal::SegmentFileName(i + 1), parts[i]);
  }
  ReadReport tolerant_report;
  options.tolerate_corruption = true;
  const int64_t tolerant = ReadAll(dir, options, &tolerant_report);

  options.tolerate_corruption = false;
  ReadReport strict_report;
  const int64_t strict = ReadAll(dir, options, &strict_report);
  if (strict < 0) {
    return 0;
  }
  FUZZ_CHECK(tolerant == strict, "tolerant read disagrees with a successful strict read");
  FUZZ_CHECK(strict_report.records_returned == static_cast<uint64_t>(strict), "records count");
  if (!flywheel::wal::TruncateTail(flywheel::io::Env::Default(), dir, strict_report).ok()) {
    return 0;
  }
  ReadReport after_report;
  const int64_t after = ReadAll(dir, options, &after_report);
  FUZZ_CHECK(after == strict, "TruncateTail lost or added records");
  FUZZ_CHECK(!after_report.tail_truncated, "a torn tail remains after TruncateTail");
  FUZZ_CHECK(after_report.next_seq == strict_report.next_seq, "next_seq changed by TruncateTail");
  return 0;
}
