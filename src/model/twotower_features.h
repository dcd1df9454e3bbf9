// Content features of an item for the twotower model (internal helper of model/twotower.cc).
//
// Each feature is a 64-bit hash of a kind prefix and a normalised text, so the same text gives
// the same feature on every item and run:
//   "c:" category (genre), "t:" tag (lower-cased), "w:" title token (lower-cased ASCII letters and
//   digits, length >= 2, stop words and 4-digit years dropped), "y:" decade of the "year"
//   attribute ("1995" -> "199"), "n:key:bucket" floor(log2(1 + value)) of another numeric
//   attribute (e.g. price), "a:key=value" any other attribute.
// Weights: mean within a kind, then divided by the number of kinds present, so the weights of an
// item sum to 1 and forty tags do not drown one genre. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "flywheel/event.h"

namespace flywheel::model::internal {

struct HashedFeature {
  uint64_t hash = 0;
  float weight = 0.0f;
};

// Features of `item`, at most `max_tokens` tags and `max_tokens` title tokens, duplicates merged.
std::vector<HashedFeature> ItemFeatureHashes(const Item& item, int max_tokens);

// The hash of one feature text (kind prefix included, e.g. "c:Drama").
uint64_t FeatureHash(std::string_view text);

}  // namespace flywheel::model::internal
