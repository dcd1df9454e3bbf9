// The JSON bodies of the catalogue routes (doc/http_api.md):
//   PUT /v1/items/{id}: {"title": "Heat", "categories": ["crime", "drama"], "tags": ["1990s"],
//                        "attributes": {"year": "1995", "price": 12.5}, "created": 1700000000000}
//   PUT /v1/users/{id}: {"attributes": {"age": "25"}}
// Every field is optional; unknown fields are rejected; "created" is integer milliseconds or an
// ISO-8601 string; attribute values are strings, numbers or booleans (kept as text). Limits:
// title <= 1024 bytes, <= 64 categories, <= 256 tags, <= 256 attributes, every string valid
// UTF-8 and <= 1024 bytes (ids <= 256 bytes, as for events), categories and tags non-empty and
// without duplicates (duplicates are dropped keeping the first). Errors are kInvalidArgument
// naming the field ("item: field 'categories[2]': ...") and carrying it as data:
// Status::field() is "categories[2]" (an unknown field's name, at most 64 bytes; empty for
// "not valid JSON").
// Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "flywheel/event.h"
#include "flywheel/result.h"

namespace flywheel::data {

inline constexpr size_t kMaxCatalogString = 1024;
inline constexpr size_t kMaxCategories = 64;
inline constexpr size_t kMaxTags = 256;
inline constexpr size_t kMaxAttributes = 256;

Result<Item> ParseItemJson(std::string_view id, std::string_view text);
Result<User> ParseUserJson(std::string_view id, std::string_view text);

// The limits above on already-built records (the engine checks them on every path).
Status ValidateItem(const Item& item);
Status ValidateUser(const User& user);

}  // namespace flywheel::data
