#include "engine/serve/reason.h"

#include <unordered_map>

namespace flywheel::engine {
namespace {

std::string CategoryPhrase(const Catalog& catalog, ItemIdx item, const char* prefix,
                           const char* suffix) {
  const ItemInfo* info = catalog.item(item);
  if (info == nullptr || info->categories.empty()) {
    return std::string(prefix) + suffix;
  }
  return std::string(prefix) + " in " + catalog.category(info->categories.front()) + suffix;
}

std::string ItemName(ItemIdx item, const Catalog& catalog, const data::IdMap& item_ids) {
  const ItemInfo* info = catalog.item(item);
  if (info != nullptr && !info->title.empty()) {
    return info->title;
  }
  return item < item_ids.size() ? item_ids.external(item) : std::to_string(item);
}

}  // namespace

std::string PastTenseVerb(const std::string& type_name) {
  static const std::unordered_map<std::string, std::string> kVerbs = {
      {"view", "viewed"}, {"click", "clicked"},   {"cart", "added to your cart"},
      {"fav", "saved"},   {"purchase", "bought"}, {"rating", "rated"},
      {"like", "liked"},  {"share", "shared"},    {"play", "played"}};
  auto it = kVerbs.find(type_name);
  return it != kVerbs.end() ? it->second : "interacted with";
}

std::string FormatReason(const Reason& r, ItemIdx item, const Catalog& catalog,
                         const data::IdMap& item_ids, const EventTypeTable& types) {
  switch (r.kind) {
    case ReasonKind::kNew:
      return CategoryPhrase(catalog, item, "new", "");
    case ReasonKind::kPopular:
      return CategoryPhrase(catalog, item, "popular", " now");
    case ReasonKind::kBecause:
      return "because you " + PastTenseVerb(types.type(r.seed_type).name) + " " +
             ItemName(r.seed, catalog, item_ids);
    case ReasonKind::kBecauseSimilar:
      return "because you " + PastTenseVerb(types.type(r.seed_type).name) + " " +
             ItemName(r.seed, catalog, item_ids) + " and similar items";
    case ReasonKind::kSimilarTo:
      return "similar to " + ItemName(r.seed, catalog, item_ids);
    case ReasonKind::kForYou:
      break;
  }
  return "recommended for you";
}

const char* ReasonKindName(ReasonKind kind) {
  switch (kind) {
    case ReasonKind::kNew:
      return "new";
    case ReasonKind::kPopular:
      return "popular";
    case ReasonKind::kBecause:
      return "because";
    case ReasonKind::kBecauseSimilar:
      return "because_similar";
    case ReasonKind::kSimilarTo:
      return "similar";
    case ReasonKind::kForYou:
      break;
  }
  return "for_you";
}

}  // namespace flywheel::engine
