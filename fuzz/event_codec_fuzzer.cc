// A log record's payload (wal/event_codec.h DecodeEvent). Never a crash; what decodes
// re-encodes (EncodeEvent) to bytes that decode and re-encode to themselves (the encoding of a
// decoded record is canonical).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "wal/event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload = flywheel::fuzz::AsText(data, size);
  flywheel::wal::LogRecord record;
  if (!flywheel::wal::DecodeEvent(payload, &record).ok()) {
    return 0;
  }
  std::string again;
  flywheel::wal::EncodeEvent(record.seq, record.event, &again);
  flywheel::wal::LogRecord second;
  FUZZ_CHECK(flywheel::wal::DecodeEvent(again, &second).ok(), "re-encoded record does not decode");
  std::string third;
  flywheel::wal::EncodeEvent(second.seq, second.event, &third);
  FUZZ_CHECK(third == again, "re-encoding is not canonical");
  return 0;
}
