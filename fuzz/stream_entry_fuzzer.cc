// One Redis Stream entry (stream/entry_codec.h, doc/stream.md "Entries"): the first byte picks
// the field name (event, events, items, delete_item, user, forget_user, or another), the rest is
// its value. DecodeEntry never crashes or throws; an accepted entry is either a catalogue record
// or 1..max_events events, each with an id; and when those events pass the engine's validation,
// the entry the producer would write for them decodes to the same events.
#include <cstddef>
#include <cstdint>

#include "data/event_json.h"
#include "fuzz_util.h"
#include "stream/entry_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const char* const kNames[] = {"event", "events",      "items", "delete_item",
                                       "user",  "forget_user", "other"};
  const std::string name = kNames[data[0] % 7];
  flywheel::stream::EntryLimits limits;
  limits.max_bytes = 1 << 16;
  limits.max_events = 64;
  flywheel::stream::DecodedEntry decoded;
  const flywheel::Status st = flywheel::stream::DecodeEntry(
      "1700000000000-7", {{name, std::string(flywheel::fuzz::AsText(data + 1, size - 1))}}, limits,
      &decoded);
  const std::vector<flywheel::Event>& events = decoded.events;
  if (!st.ok()) {
    FUZZ_CHECK(events.empty() && !decoded.catalog, "a refused entry left something behind");
    return 0;
  }
  if (decoded.catalog) {
    FUZZ_CHECK(events.empty(), "a catalogue entry with events");
    return 0;
  }
  FUZZ_CHECK(!events.empty() && events.size() <= limits.max_events, "event count out of range");
  // The engine validates the values (Engine::Validate) before anything is logged; the entry a
  // producer writes for events that pass must decode to the same events.
  static const flywheel::EventTypeTable types = flywheel::EventTypeTable::Default();
  std::vector<std::string> texts;
  for (const flywheel::Event& e : events) {
    FUZZ_CHECK(!e.id.empty(), "an accepted event has no id");
    if (!flywheel::data::ValidateEvent(e, types).ok()) {
      return 0;
    }
    texts.push_back(flywheel::data::EventToJson(e));
  }
  flywheel::stream::DecodedEntry decoded_again;
  const flywheel::Status round = flywheel::stream::DecodeEntry(
      "1-0", flywheel::stream::EncodeEntry(texts), limits, &decoded_again);
  const std::vector<flywheel::Event>& again = decoded_again.events;
  FUZZ_CHECK(round.ok(), "the producer's entry does not decode: " + round.message());
  FUZZ_CHECK(again.size() == events.size(), "round trip changed the event count");
  for (size_t i = 0; i < events.size(); ++i) {
    FUZZ_CHECK(flywheel::fuzz::SameEvent(events[i], again[i]),
               "round trip changed an event: " + texts[i]);
  }
  return 0;
}
