#include "model/twotower_features.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "base/random.h"
#include "base/strings.h"

namespace flywheel::model::internal {
namespace {

constexpr std::string_view kStopWords[] = {"the", "of", "and", "a", "an", "in", "to", "la", "le"};

struct Kind {
  std::vector<uint64_t> hashes;
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsStopOrYear(const std::string& token) {
  if (std::find(std::begin(kStopWords), std::end(kStopWords), token) != std::end(kStopWords)) {
    return true;
  }
  return token.size() == 4 && std::all_of(token.begin(), token.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) != 0;
         });
}

void TitleTokens(std::string_view title, int max_tokens, Kind* kind) {
  std::string token;
  auto flush = [&] {
    if (token.size() >= 2 && !IsStopOrYear(token) &&
        kind->hashes.size() < static_cast<size_t>(max_tokens)) {
      kind->hashes.push_back(FeatureHash("w:" + token));
    }
    token.clear();
  };
  for (char c : title) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      token.push_back(static_cast<char>(std::tolower(u)));
    } else {
      flush();
    }
  }
  flush();
}

void Attribute(const std::string& key, const std::string& value, Kind* kind) {
  auto number = base::ParseDouble(value);
  if (key == "year" && number.ok() && *number > 0 && *number < 1e5) {
    kind->hashes.push_back(FeatureHash("y:" + std::to_string(static_cast<int>(*number) / 10)));
  } else if (number.ok() && std::isfinite(*number) && *number >= 0) {
    const int bucket = static_cast<int>(std::floor(std::log2(1.0 + std::min(*number, 1e18))));
    kind->hashes.push_back(FeatureHash("n:" + key + ":" + std::to_string(bucket)));
  } else {
    kind->hashes.push_back(FeatureHash("a:" + key + "=" + value));
  }
}

}  // namespace

uint64_t FeatureHash(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return base::Mix64(h);
}

std::vector<HashedFeature> ItemFeatureHashes(const Item& item, int max_tokens) {
  Kind kinds[4];  // categories, tags, title tokens, attributes
  for (const std::string& category : item.categories) {
    kinds[0].hashes.push_back(FeatureHash("c:" + category));
  }
  for (const std::string& tag : item.tags) {
    if (kinds[1].hashes.size() < static_cast<size_t>(max_tokens)) {
      kinds[1].hashes.push_back(FeatureHash("t:" + Lower(tag)));
    }
  }
  TitleTokens(item.title, max_tokens, &kinds[2]);
  for (const auto& [key, value] : item.attributes) {
    Attribute(key, value, &kinds[3]);
  }
  const auto present = static_cast<float>(std::count_if(
      std::begin(kinds), std::end(kinds), [](const Kind& k) { return !k.hashes.empty(); }));
  std::vector<HashedFeature> out;
  for (const Kind& kind : kinds) {
    for (uint64_t hash : kind.hashes) {
      const float weight = 1.0f / (present * static_cast<float>(kind.hashes.size()));
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const HashedFeature& f) { return f.hash == hash; });
      if (it != out.end()) {
        it->weight += weight;
      } else {
        out.push_back({hash, weight});
      }
    }
  }
  return out;
}

}  // namespace flywheel::model::internal
