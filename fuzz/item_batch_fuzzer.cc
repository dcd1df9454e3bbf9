// A batch of items (POST /v1/items:batch, {"items": [...]}; data/item_batch.h): ItemFromJson
// on every element, then ItemBatchErrors over those that parsed. Never a crash; every error
// index is inside the batch.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/item_batch.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json doc = nlohmann::json::parse(flywheel::fuzz::AsText(data, size), nullptr,
                                                   /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return 0;
  }
  const nlohmann::json* list = &doc;
  if (doc.is_object() && doc.contains("items")) {
    list = &doc["items"];
  }
  if (!list->is_array()) {
    (void)flywheel::data::ItemFromJson(*list);
    return 0;
  }
  std::vector<flywheel::Item> items;
  for (const nlohmann::json& element : *list) {
    auto item = flywheel::data::ItemFromJson(element);
    if (item.ok()) {
      items.push_back(std::move(item).value());
    }
  }
  for (const flywheel::data::ItemError& error : flywheel::data::ItemBatchErrors(items)) {
    FUZZ_CHECK(error.index < items.size(), "error index outside the batch");
  }
  return 0;
}
