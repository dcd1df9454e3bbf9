// One event's JSON form (data/event_json.h, doc/formats/event_json.md): ParseEventJson never
// crashes or throws, an accepted event passes ValidateEvent, and its canonical form
// (EventToJson) parses back to the same event.
#include <cstddef>
#include <cstdint>

#include "data/event_json.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const flywheel::EventTypeTable types = flywheel::EventTypeTable::Default();
  const auto event = flywheel::data::ParseEventJson(flywheel::fuzz::AsText(data, size), types);
  if (!event.ok()) {
    return 0;
  }
  FUZZ_CHECK(flywheel::data::ValidateEvent(*event, types).ok(), "accepted event is invalid");
  const std::string canonical = flywheel::data::EventToJson(*event);
  const auto again = flywheel::data::ParseEventJson(canonical, types);
  FUZZ_CHECK(again.ok(), "canonical form does not parse: " + canonical);
  FUZZ_CHECK(flywheel::fuzz::SameEvent(*event, *again),
             "round trip changed the event: " + canonical);
  return 0;
}
