// Batches of items and catalogue files (doc/formats/catalog_file.md): the shared validation of
// `POST /v1/items:batch`, `Engine::PutItems` and `flywheel import-items`.
//
//   ItemFromJson     one item object: the body of PUT /v1/items/{id} plus its "id"
//   ItemBatchErrors  every invalid item of a batch and every id repeated in it
//   ReadCatalogFile  a CSV (header id,title,categories,tags,created,<attribute>...) or JSON Lines
//                    file into items, collecting every bad line as "FILE:LINE:field: message"
//
// Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/event.h"
#include "flywheel/result.h"

namespace flywheel::data {

// At most this many items in one batch (POST /v1/items:batch, Engine::PutItems callers).
inline constexpr size_t kMaxItemsPerBatch = 1000;

// One invalid item: its index in the batch (or line in a file), the field and why.
struct ItemError {
  size_t index = 0;
  std::string field;  // "title", "categories[2]", "id"; empty when the item is not an object
  std::string message;
};

// An item from `{"id": "i1", "title": ..., ...}`: kInvalidArgument with field() "id" when the
// id is missing or not a string, else ParseItemJson's errors (data/catalog_json.h).
Result<Item> ItemFromJson(const nlohmann::json& object);

// Every item failing ValidateItem, and every id already used by an earlier item of the batch
// ("duplicate id 'i9' (also items[2])", field "id"), in batch order. Empty: the batch is valid.
std::vector<ItemError> ItemBatchErrors(std::span<const Item> items);

struct CatalogFile {
  std::vector<Item> items;
  // "FILE:LINE:field: message" for every bad line, in file order (at most kMaxReportedErrors,
  // then one line saying how many more there were). Non-empty: nothing should be imported.
  std::vector<std::string> errors;
};
inline constexpr size_t kMaxReportedErrors = 100;

// Reads a catalogue file; the format comes from the extension: ".csv" or ".jsonl"/".ndjson"
// (also gzip-compressed, ".csv.gz"). kNotFound / kIoError when the file cannot be read,
// kInvalidArgument for an unknown extension or a CSV header without an "id" column or with a
// repeated column; bad lines are reported in CatalogFile::errors.
Result<CatalogFile> ReadCatalogFile(const std::string& path);

}  // namespace flywheel::data
