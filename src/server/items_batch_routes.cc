// POST /v1/items:batch (doc/http_api.md): many items validated whole, then logged as one group
// by Engine::PutItems. The 400 lists every bad item (parse errors, invalid values, repeated ids)
// in batch order, like POST /v1/events.
#include <algorithm>
#include <string>
#include <vector>

#include "data/item_batch.h"
#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

Response InvalidItems(const Request& request, const std::vector<data::ItemError>& errors) {
  json list = json::array();
  for (const data::ItemError& e : errors) {
    list.push_back({{"index", e.index}, {"field", e.field}, {"message", e.message}});
  }
  const data::ItemError& first = errors.front();
  const std::string at = "items[" + std::to_string(first.index) + "]";
  const json body = {{"code", "invalid_argument"},
                     {"message", "item " + std::to_string(first.index) + ": " + first.message},
                     {"field", first.field.empty() ? at : at + "." + first.field},
                     {"errors", list}};
  return JsonResponse(request, http::status::bad_request, body);
}

// Parses every element; parse errors and (for the items that parse) value errors and repeated
// ids, in batch order. `items` holds the parsed items (complete only when no error).
std::vector<data::ItemError> ParseItems(const json& list, std::vector<Item>* items) {
  std::vector<data::ItemError> errors;
  std::vector<size_t> index;
  for (size_t i = 0; i < list.size(); ++i) {
    Result<Item> item = data::ItemFromJson(list[i]);
    if (!item.ok()) {
      errors.push_back({i, item.status().field(), item.status().message()});
      continue;
    }
    items->push_back(std::move(item).value());
    index.push_back(i);
  }
  for (data::ItemError& e : data::ItemBatchErrors(*items)) {
    e.index = index[e.index];
    errors.push_back(std::move(e));
  }
  std::stable_sort(
      errors.begin(), errors.end(),
      [](const data::ItemError& a, const data::ItemError& b) { return a.index < b.index; });
  return errors;
}

}  // namespace

Response Api::PostItemsBatch(const Call& call) {
  const Request& request = call.request;
  if (auto refused = CheckJsonBody(request, data::kMaxItemsPerBatch * kMaxCatalogJsonValues)) {
    return *refused;
  }
  const json doc = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error(request, http::status::bad_request, "invalid_argument", "body is not valid JSON");
  }
  if (!doc.is_object() || doc.size() != 1 || !doc.contains("items") || !doc["items"].is_array()) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "expected {\"items\": [...]}", "items");
  }
  const json& list = doc["items"];
  if (list.empty() || list.size() > data::kMaxItemsPerBatch) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "expected 1.." + std::to_string(data::kMaxItemsPerBatch) +
                     " items in one batch, got " + std::to_string(list.size()),
                 "items");
  }
  std::vector<Item> items;
  items.reserve(list.size());
  if (std::vector<data::ItemError> errors = ParseItems(list, &items); !errors.empty()) {
    return InvalidItems(request, errors);
  }
  if (producing()) {
    return ProduceCatalog(call, "items", list.dump());
  }
  Result<uint64_t> first = call.engine->PutItems(items);
  if (!first.ok()) {
    return StatusError(request, first.status());
  }
  return JsonResponse(
      request, http::status::accepted,
      {{"items", items.size()}, {"first_seq", *first}, {"last_seq", *first + items.size() - 1}});
}

}  // namespace flywheel::server
