// Catalog: what the engine knows about items and users beyond their interactions (doc/engine.md):
// item content (title, categories, created time), deletions, user attributes, and a decayed
// "trending" count per item. Owned by the engine's learned state: written by the learner (under
// the state lock), read by requests; saved in snapshots (section "catalog").
//
// Catalogue operations travel through the event log as control records: events whose type
// starts with '$' (never a valid public event type), so that they are durable, ordered with the
// events and replayed by recovery like them (doc/formats/event_log.md, "Control records"):
//   $item.put     item = id, ts = created, context = ("title", t) ("category", c)* ("tag", t)*
//                 ("a:" + key, value)*   (in this order)
//   $item.delete  item = id
//   $user.put     user = id, context = ("a:" + key, value)*
//   $user.delete  user = id
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

#include "base/serial.h"
#include "data/id_map.h"

namespace flywheel::engine {

inline constexpr std::string_view kItemPutType = "$item.put";
inline constexpr std::string_view kItemDeleteType = "$item.delete";
inline constexpr std::string_view kUserPutType = "$user.put";
inline constexpr std::string_view kUserDeleteType = "$user.delete";

inline bool IsControl(const Event& event) {
  return !event.type.empty() && event.type[0] == '$';
}
Event ItemPutRecord(const Item& item);
Event ItemDeleteRecord(const std::string& id);
Event UserPutRecord(const User& user);
Event UserDeleteRecord(const std::string& id);
// kCorruption when the record does not follow the grammar above.
Result<Item> DecodeItemPut(const Event& record);
Result<User> DecodeUserPut(const Event& record);

struct ItemInfo {
  TimestampMs created_ms = 0;     // from its content; 0 when unknown
  TimestampMs first_seen_ms = 0;  // log time of its first event or put
  std::string title;
  std::vector<uint32_t> categories;  // category ids (Catalog::category)
  bool deleted = false;
  bool has_content = false;
  // Saved in the section `catalog_extra` (absent from older snapshots: then empty and 0).
  std::vector<std::string> tags;
  KeyValues attributes;
  uint64_t events = 0;  // interactions applied (events of any type, not control records)
};

class Catalog {
 public:
  // Half-life of the trending counts in event time.
  explicit Catalog(int64_t trending_half_life_ms = 6LL * 3600 * 1000)
      : half_life_ms_(trending_half_life_ms) {}

  int64_t half_life_ms() const { return half_life_ms_; }

  // Makes `item` known (first_seen_ms = now when new).
  void EnsureItem(ItemIdx item, TimestampMs now);
  // An event of `item` at `ts`: one more interaction; a positive `weight` is added to its
  // trending count.
  void CountEvent(ItemIdx item, float weight, TimestampMs ts);
  void PutItem(ItemIdx item, const Item& content, TimestampMs now);
  void DeleteItem(ItemIdx item);

  size_t num_items() const { return items_.size(); }
  // nullptr for items never made known.
  const ItemInfo* item(ItemIdx item) const {
    return item < items_.size() ? &items_[item] : nullptr;
  }
  bool deleted(ItemIdx item) const { return item < items_.size() && items_[item].deleted; }
  size_t deleted_count() const { return deleted_count_; }
  // The trending count of `item` decayed to time `now`.
  double Trending(ItemIdx item, TimestampMs now) const;
  // log2 of Trending(item, now) without underflow (ranking stays right however old the counts
  // are); -infinity for items without positive events.
  double TrendingLog2(ItemIdx item, TimestampMs now) const;

  std::optional<uint32_t> FindCategory(std::string_view name) const {
    return categories_.Find(name);
  }
  const std::string& category(uint32_t id) const { return categories_.external(id); }
  size_t num_categories() const { return categories_.size(); }
  bool InCategory(ItemIdx item, uint32_t category) const;

  void PutUser(UserIdx user, KeyValues attributes);
  void ForgetUser(UserIdx user);
  // nullptr when the user has no attributes.
  const KeyValues* user_attributes(UserIdx user) const;

  void Save(base::ByteWriter* out) const;
  Status Load(base::ByteReader* in);
  // Per item: tags, attributes and the interaction count (section `catalog_extra`). LoadExtra
  // after Load.
  void SaveExtra(base::ByteWriter* out) const;
  Status LoadExtra(base::ByteReader* in);

 private:
  struct Trend {
    float count = 0;  // decayed to `at`
    TimestampMs at = 0;
  };
  int64_t half_life_ms_;
  std::vector<ItemInfo> items_;
  std::vector<Trend> trends_;
  size_t deleted_count_ = 0;
  data::IdMap categories_;
  std::unordered_map<UserIdx, KeyValues> user_attributes_;
};

}  // namespace flywheel::engine
