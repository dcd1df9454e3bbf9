// Drains an EventReader for the dataset-reader targets: reads every event (at most kMaxEvents,
// enough for any input libFuzzer builds) and checks what every reader promises.
#pragma once

#include <memory>

#include "flywheel/result.h"

#include "data/event_reader.h"
#include "fuzz_util.h"

namespace flywheel::fuzz {

inline constexpr int kMaxEvents = 1 << 16;

// A SkipPolicy from one input byte: strict (fail on the first bad line) or up to 7 skips.
inline data::SkipPolicy SkipFromByte(uint8_t byte) {
  return data::SkipPolicy{.max_skipped = (byte >> 4) & 7};
}

inline void Drain(const Result<std::unique_ptr<data::EventReader>>& opened,
                  const data::SkipPolicy& skip) {
  if (!opened.ok()) {
    return;
  }
  data::EventReader& reader = **opened;
  Event event;
  int events = 0;
  while (events < kMaxEvents) {
    const Result<bool> next = reader.Next(&event);
    if (!next.ok() || !*next) {
      break;
    }
    ++events;
    FUZZ_CHECK(!event.user.empty() && !event.item.empty(), "event without a user or an item");
  }
  FUZZ_CHECK(reader.stats().skipped <= skip.max_skipped, "skipped more lines than allowed");
  (void)reader.items();
  (void)reader.notes();
}

}  // namespace flywheel::fuzz
