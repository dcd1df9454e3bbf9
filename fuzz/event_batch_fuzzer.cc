// A batch of events, as POST /v1/events receives it ({"events": [...]}) or as a JSON array:
// every element through EventFieldsFromJson then ValidateEvent (what the API and the engine
// apply); never a crash, never an exception.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "data/event_json.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const flywheel::EventTypeTable types = flywheel::EventTypeTable::Default();
  const nlohmann::json doc = nlohmann::json::parse(flywheel::fuzz::AsText(data, size), nullptr,
                                                   /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return 0;
  }
  const nlohmann::json* list = &doc;
  if (doc.is_object() && doc.contains("events")) {
    list = &doc["events"];
  }
  if (!list->is_array()) {
    (void)flywheel::data::EventFromJson(*list, types);
    return 0;
  }
  for (const nlohmann::json& element : *list) {
    const auto fields = flywheel::data::EventFieldsFromJson(element);
    const auto full = flywheel::data::EventFromJson(element, types);
    FUZZ_CHECK(!full.ok() || fields.ok(), "EventFromJson accepts what EventFieldsFromJson refuses");
    if (fields.ok()) {
      FUZZ_CHECK(full.ok() == flywheel::data::ValidateEvent(*fields, types).ok(),
                 "EventFromJson disagrees with EventFieldsFromJson + ValidateEvent");
    }
  }
  return 0;
}
