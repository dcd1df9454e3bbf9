#include "engine/learn/catalog.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace flywheel::engine {
namespace {

constexpr std::string_view kAttributePrefix = "a:";

void AddAttributes(const KeyValues& attributes, KeyValues* context) {
  for (const auto& [key, value] : attributes) {
    context->emplace_back(std::string(kAttributePrefix) + key, value);
  }
}

}  // namespace

Event ItemPutRecord(const Item& item) {
  Event e;
  e.item = item.id;
  e.type = std::string(kItemPutType);
  e.ts_ms = item.created_ms;
  e.context.emplace_back("title", item.title);
  for (const std::string& c : item.categories) {
    e.context.emplace_back("category", c);
  }
  for (const std::string& t : item.tags) {
    e.context.emplace_back("tag", t);
  }
  AddAttributes(item.attributes, &e.context);
  return e;
}

Event ItemDeleteRecord(const std::string& id) {
  Event e;
  e.item = id;
  e.type = std::string(kItemDeleteType);
  return e;
}

Event UserPutRecord(const User& user) {
  Event e;
  e.user = user.id;
  e.type = std::string(kUserPutType);
  AddAttributes(user.attributes, &e.context);
  return e;
}

Event UserDeleteRecord(const std::string& id) {
  Event e;
  e.user = id;
  e.type = std::string(kUserDeleteType);
  return e;
}

Result<Item> DecodeItemPut(const Event& record) {
  if (record.type != kItemPutType || record.item.empty() || record.context.empty() ||
      record.context[0].first != "title") {
    return Status::Corruption("control record: malformed " + std::string(kItemPutType));
  }
  Item item;
  item.id = record.item;
  item.created_ms = record.ts_ms;
  item.title = record.context[0].second;
  int stage = 0;  // 0 categories, 1 tags, 2 attributes
  for (size_t i = 1; i < record.context.size(); ++i) {
    const auto& [key, value] = record.context[i];
    if (key == "category" && stage == 0) {
      item.categories.push_back(value);
    } else if (key == "tag" && stage <= 1) {
      stage = 1;
      item.tags.push_back(value);
    } else if (key.starts_with(kAttributePrefix)) {
      stage = 2;
      item.attributes.emplace_back(key.substr(kAttributePrefix.size()), value);
    } else {
      return Status::Corruption("control record: unexpected key '" + key + "' in " +
                                std::string(kItemPutType));
    }
  }
  return item;
}

Result<User> DecodeUserPut(const Event& record) {
  if (record.type != kUserPutType || record.user.empty()) {
    return Status::Corruption("control record: malformed " + std::string(kUserPutType));
  }
  User user;
  user.id = record.user;
  for (const auto& [key, value] : record.context) {
    if (!key.starts_with(kAttributePrefix)) {
      return Status::Corruption("control record: unexpected key '" + key + "' in " +
                                std::string(kUserPutType));
    }
    user.attributes.emplace_back(key.substr(kAttributePrefix.size()), value);
  }
  return user;
}

void Catalog::EnsureItem(ItemIdx item, TimestampMs now) {
  if (item >= items_.size()) {
    items_.resize(static_cast<size_t>(item) + 1);
    trends_.resize(items_.size());
    items_[item].first_seen_ms = now;
  }
}

void Catalog::CountEvent(ItemIdx item, float weight, TimestampMs ts) {
  if (item >= items_.size()) {
    return;
  }
  ++items_[item].events;
  if (!(weight > 0)) {
    return;
  }
  Trend& t = trends_[item];
  if (ts > t.at) {
    t.count *= static_cast<float>(
        std::exp2(-static_cast<double>(ts - t.at) / static_cast<double>(half_life_ms_)));
    t.at = ts;
    t.count += weight;
  } else {  // out-of-order event: its weight decayed to the count's time
    t.count += weight * static_cast<float>(std::exp2(-static_cast<double>(t.at - ts) /
                                                     static_cast<double>(half_life_ms_)));
  }
}

double Catalog::Trending(ItemIdx item, TimestampMs now) const {
  if (item >= trends_.size()) {
    return 0;
  }
  const Trend& t = trends_[item];
  return t.count * std::exp2(-static_cast<double>(now - t.at) / static_cast<double>(half_life_ms_));
}

double Catalog::TrendingLog2(ItemIdx item, TimestampMs now) const {
  if (item >= trends_.size() || !(trends_[item].count > 0)) {
    return -std::numeric_limits<double>::infinity();
  }
  const Trend& t = trends_[item];
  return std::log2(static_cast<double>(t.count)) -
         static_cast<double>(now - t.at) / static_cast<double>(half_life_ms_);
}

void Catalog::PutItem(ItemIdx item, const Item& content, TimestampMs now) {
  EnsureItem(item, now);
  ItemInfo& info = items_[item];
  if (info.deleted) {
    info.deleted = false;  // a put brings a deleted item back
    --deleted_count_;
  }
  info.has_content = true;
  info.created_ms = content.created_ms;
  info.title = content.title;
  info.categories.clear();
  for (const std::string& c : content.categories) {
    info.categories.push_back(categories_.GetOrAdd(c));
  }
  info.tags = content.tags;
  info.attributes = content.attributes;
}

void Catalog::DeleteItem(ItemIdx item) {
  EnsureItem(item, 0);
  if (!items_[item].deleted) {
    items_[item].deleted = true;
    ++deleted_count_;
  }
}

bool Catalog::InCategory(ItemIdx item, uint32_t category) const {
  if (item >= items_.size()) {
    return false;
  }
  const auto& cats = items_[item].categories;
  return std::find(cats.begin(), cats.end(), category) != cats.end();
}

void Catalog::PutUser(UserIdx user, KeyValues attributes) {
  user_attributes_[user] = std::move(attributes);
}

void Catalog::ForgetUser(UserIdx user) {
  user_attributes_.erase(user);
}

const KeyValues* Catalog::user_attributes(UserIdx user) const {
  auto it = user_attributes_.find(user);
  return it == user_attributes_.end() ? nullptr : &it->second;
}

void Catalog::Save(base::ByteWriter* out) const {
  out->Put<int64_t>(half_life_ms_);
  categories_.Save(out);
  out->Put<uint64_t>(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    const ItemInfo& info = items_[i];
    out->Put<uint8_t>(static_cast<uint8_t>((info.deleted ? 1 : 0) | (info.has_content ? 2 : 0)));
    out->Put<int64_t>(info.created_ms);
    out->Put<int64_t>(info.first_seen_ms);
    out->PutString(info.title);
    out->PutVector(info.categories);
    out->Put<float>(trends_[i].count);
    out->Put<int64_t>(trends_[i].at);
  }
  std::vector<UserIdx> users;
  users.reserve(user_attributes_.size());
  for (const auto& [user, attributes] : user_attributes_) {
    users.push_back(user);
  }
  std::sort(users.begin(), users.end());  // deterministic bytes
  out->Put<uint64_t>(users.size());
  for (UserIdx user : users) {
    out->Put<uint32_t>(user);
    const KeyValues& attributes = user_attributes_.at(user);
    out->Put<uint32_t>(static_cast<uint32_t>(attributes.size()));
    for (const auto& [key, value] : attributes) {
      out->PutString(key);
      out->PutString(value);
    }
  }
}

Status Catalog::Load(base::ByteReader* in) {
  *this = Catalog();
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&half_life_ms_, "half life"));
  if (half_life_ms_ <= 0) {
    return in->Error("bad trending half life");
  }
  FLYWHEEL_RETURN_IF_ERROR(categories_.Load(in));
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "item count"));
  if (n > in->remaining() / 29) {
    return in->Error("item count " + std::to_string(n) + " exceeds the data");
  }
  items_.resize(n);
  trends_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ItemInfo& info = items_[i];
    uint8_t flags = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&flags, "item flags"));
    if (flags > 3) {
      return in->Error("bad item flags");
    }
    info.deleted = (flags & 1) != 0;
    info.has_content = (flags & 2) != 0;
    deleted_count_ += info.deleted ? 1 : 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&info.created_ms, "created"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&info.first_seen_ms, "first seen"));
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&info.title, "title"));
    FLYWHEEL_RETURN_IF_ERROR(in->GetVector(&info.categories, "categories"));
    for (uint32_t c : info.categories) {
      if (c >= categories_.size()) {
        return in->Error("category id out of range");
      }
    }
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&trends_[i].count, "trend"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&trends_[i].at, "trend time"));
  }
  uint64_t users = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&users, "user count"));
  if (users > in->remaining() / 8) {
    return in->Error("user count exceeds the data");
  }
  for (uint64_t u = 0; u < users; ++u) {
    uint32_t user = 0;
    uint32_t count = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&user, "user"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&count, "attribute count"));
    if (count > in->remaining() / 8) {
      return in->Error("attribute count exceeds the data");
    }
    KeyValues attributes(count);
    for (auto& [key, value] : attributes) {
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&key, "attribute key"));
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&value, "attribute value"));
    }
    if (!user_attributes_.emplace(user, std::move(attributes)).second) {
      return in->Error("repeated user");
    }
  }
  return Status::Ok();
}

void Catalog::SaveExtra(base::ByteWriter* out) const {
  out->Put<uint64_t>(items_.size());
  for (const ItemInfo& info : items_) {
    out->Put<uint64_t>(info.events);
    out->Put<uint32_t>(static_cast<uint32_t>(info.tags.size()));
    for (const std::string& tag : info.tags) {
      out->PutString(tag);
    }
    out->Put<uint32_t>(static_cast<uint32_t>(info.attributes.size()));
    for (const auto& [key, value] : info.attributes) {
      out->PutString(key);
      out->PutString(value);
    }
  }
}

Status Catalog::LoadExtra(base::ByteReader* in) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "item count"));
  if (n != items_.size()) {
    return in->Error("extra data for " + std::to_string(n) + " items, catalogue of " +
                     std::to_string(items_.size()));
  }
  for (ItemInfo& info : items_) {
    uint32_t count = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&info.events, "item events"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&count, "tag count"));
    if (count > in->remaining() / 8) {
      return in->Error("tag count exceeds the data");
    }
    info.tags.assign(count, std::string());
    for (std::string& tag : info.tags) {
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&tag, "tag"));
    }
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&count, "attribute count"));
    if (count > in->remaining() / 16) {
      return in->Error("attribute count exceeds the data");
    }
    info.attributes.assign(count, {});
    for (auto& [key, value] : info.attributes) {
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&key, "attribute key"));
      FLYWHEEL_RETURN_IF_ERROR(in->GetString(&value, "attribute value"));
    }
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
