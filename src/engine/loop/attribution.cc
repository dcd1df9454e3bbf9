#include "engine/loop/attribution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "base/strings.h"

namespace flywheel::engine {
namespace {

// Remembered recommendation ids of closed lists, at most (doc in the header).
constexpr size_t kMaxRemembered = 1'000'000;
// An event this much older than a list still matches it by item (client and server clocks).
constexpr int64_t kClockSkewMs = 60'000;

Status InvalidLoop(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("engine: field 'loop." + field + "': " + what)
      .WithField("loop." + field);
}

TimestampMs SaturatingAdd(TimestampMs t, int64_t d) {
  if (d > 0 && t > std::numeric_limits<TimestampMs>::max() - d) {
    return std::numeric_limits<TimestampMs>::max();
  }
  if (d < 0 && t < std::numeric_limits<TimestampMs>::min() - d) {
    return std::numeric_limits<TimestampMs>::min();
  }
  return t + d;
}

size_t PositionBucket(uint32_t position) {
  return std::min<size_t>(position, ImpressionStats::kPositionBuckets - 1);
}

}  // namespace

Event ImpressionCloseRecord(TimestampMs close_ms) {
  Event record;
  record.type = std::string(kImpressionCloseType);
  record.ts_ms = close_ms;
  record.value = 0;
  return record;
}

Result<EventTypeTable> ParseRewardWeights(std::string_view spec, const EventTypeTable& types) {
  EventTypeTable table = types;
  std::vector<EventTypeId> seen;
  for (std::string_view entry : base::Split(spec, ',')) {
    entry = base::Trim(entry);
    if (entry.empty()) {
      continue;
    }
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return InvalidLoop("reward_weights",
                         "expected type=weight, got '" + std::string(entry) + "'");
    }
    const std::string name(base::Trim(entry.substr(0, eq)));
    Result<EventTypeId> id = types.Find(name);
    if (!id.ok()) {
      return InvalidLoop("reward_weights", id.status().message());
    }
    Result<double> weight = base::ParseDouble(base::Trim(entry.substr(eq + 1)));
    if (!weight.ok() || std::abs(*weight) > 1e6) {
      return InvalidLoop("reward_weights", "weight of '" + name + "' must be a finite number " +
                                               "in [-1e6, 1e6], got '" +
                                               std::string(entry.substr(eq + 1)) + "'");
    }
    if (std::find(seen.begin(), seen.end(), *id) != seen.end()) {
      return InvalidLoop("reward_weights", "type '" + name + "' appears twice");
    }
    seen.push_back(*id);
    const EventType& type = types.type(*id);
    table.Set(type.name, static_cast<float>(*weight), type.positive);
  }
  return table;
}

Status ValidateAttributionOptions(const LoopOptions& options, const EventTypeTable& types) {
  if (options.attribution_window_ms <= 0) {
    return InvalidLoop("attribution_window_ms", "must be > 0");
  }
  if (!std::isfinite(options.default_reward)) {
    return InvalidLoop("default_reward", "must be a finite number");
  }
  if (options.max_open_per_user == 0) {
    return InvalidLoop("max_open_per_user", "must be >= 1");
  }
  if (options.max_open_items == 0) {
    return InvalidLoop("max_open_items", "must be >= 1");
  }
  if (options.close_tick_ms < 0) {
    return InvalidLoop("close_tick_ms", "must be >= 0");
  }
  return ParseRewardWeights(options.reward_weights, types).status();
}

const char* Attributor::OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAttributed:
      return "attributed";
    case Outcome::kUnknownRecommendation:
      return "unknown_recommendation";
    case Outcome::kWindowPassed:
      return "window_passed";
    case Outcome::kNotShown:
      return "not_shown";
  }
  return "?";
}

Attributor::Attributor(const LoopOptions& options, const EventTypeTable& types)
    : options_(options), rewards_(types) {
  const LoopOptions defaults;
  if (options_.attribution_window_ms <= 0) {
    options_.attribution_window_ms = defaults.attribution_window_ms;
  }
  if (!std::isfinite(options_.default_reward)) {
    options_.default_reward = defaults.default_reward;
  }
  options_.max_open_per_user = std::max<size_t>(options_.max_open_per_user, 1);
  options_.max_open_items = std::max<size_t>(options_.max_open_items, 1);
  options_.close_tick_ms = std::max<int64_t>(options_.close_tick_ms, 0);
  if (Result<EventTypeTable> parsed = ParseRewardWeights(options_.reward_weights, types);
      parsed.ok()) {
    rewards_ = std::move(*parsed);
  }
  Reset();
}

void Attributor::AddListener(ImpressionListener* listener) {
  listeners_.push_back(listener);
}

void Attributor::Reset() {
  clock_ = 0;
  next_ordinal_ = 1;
  open_.clear();
  deadlines_.clear();
  by_user_.clear();
  by_id_.clear();
  open_items_ = 0;
  remembered_.clear();
  remembered_ids_.clear();
  stats_ = ImpressionStats();
  stats_.lag_counts.assign(kLagBoundsMs.size() + 1, 0);
}

uint64_t Attributor::IdKey(std::string_view recommendation_id) {
  if (recommendation_id.empty()) {
    return 0;
  }
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64: stable across builds (snapshots keep it)
  for (const char c : recommendation_id) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

TimestampMs Attributor::Deadline(const ClosedImpression& list) const {
  return SaturatingAdd(list.ts_ms, options_.attribution_window_ms);
}

void Attributor::OnImpression(uint64_t seq, const Impression& impression, UserIdx user,
                              const std::vector<ItemIdx>& items) {
  const uint64_t key = IdKey(impression.recommendation_id);
  if (key != 0 && (by_id_.contains(key) || remembered_ids_.contains(key))) {
    ++stats_.duplicates;
    return;
  }
  MakeRoom(user, impression.items.size());
  Open open;
  open.id_key = key;
  ClosedImpression& list = open.list;
  list.user = user;
  list.recommendation_id = impression.recommendation_id;
  list.ts_ms = impression.ts_ms;
  list.policy = impression.policy;
  list.model = impression.model;
  list.model_version = impression.model_version;
  list.seq = seq;
  list.slots.resize(impression.items.size());
  for (size_t i = 0; i < list.slots.size(); ++i) {
    ClosedSlot& slot = list.slots[i];
    slot.item = i < items.size() ? items[i] : kNoItem;
    slot.position = impression.items[i].position;
    slot.propensity = impression.items[i].propensity;
    slot.step = impression.items[i].step;
    stats_.unknown_items += slot.item == kNoItem ? 1 : 0;
  }
  ++stats_.recorded;
  stats_.items_shown += list.slots.size();
  Index(next_ordinal_++, std::move(open));
  CloseDue(clock_);  // shown longer ago than the window: closes at once (no event can reach it)
}

void Attributor::MakeRoom(UserIdx user, size_t items) {
  if (auto it = by_user_.find(user); it != by_user_.end()) {
    while (it->second.size() >= options_.max_open_per_user) {
      Close(it->second.front(), /*early=*/true);  // may erase `it` when it empties: re-find
      it = by_user_.find(user);
      if (it == by_user_.end()) {
        break;
      }
    }
  }
  while (!open_.empty() && open_items_ + items > options_.max_open_items) {
    Close(open_.begin()->first, /*early=*/true);
  }
}

void Attributor::Index(uint64_t ordinal, Open open) {
  deadlines_.emplace(Deadline(open.list), ordinal);
  by_user_[open.list.user].push_back(ordinal);
  if (open.id_key != 0) {
    by_id_[open.id_key] = ordinal;
  }
  open_items_ += open.list.slots.size();
  open_.emplace(ordinal, std::move(open));
}

Attributor::Open Attributor::Remove(uint64_t ordinal) {
  auto it = open_.find(ordinal);
  Open open = std::move(it->second);
  open_.erase(it);
  deadlines_.erase({Deadline(open.list), ordinal});
  auto user = by_user_.find(open.list.user);
  std::erase(user->second, ordinal);
  if (user->second.empty()) {
    by_user_.erase(user);
  }
  if (open.id_key != 0) {
    by_id_.erase(open.id_key);
  }
  open_items_ -= open.list.slots.size();
  return open;
}

void Attributor::Close(uint64_t ordinal, bool early) {
  Open open = Remove(ordinal);
  ClosedImpression& list = open.list;
  bool clicked = false;
  for (ClosedSlot& slot : list.slots) {
    if (slot.first_lag_ms < 0) {
      slot.reward = options_.default_reward;
    }
    clicked = clicked || slot.clicked;
  }
  for (ImpressionListener* listener : listeners_) {
    listener->OnClosed(list);
  }
  ++stats_.closed;
  stats_.closed_early += early ? 1 : 0;
  stats_.clicked += clicked ? 1 : 0;
  for (const ClosedSlot& slot : list.slots) {
    ImpressionStats::Position& p = stats_.positions[PositionBucket(slot.position)];
    ++p.shown;
    p.clicked += slot.clicked ? 1 : 0;
    p.reward += slot.reward;
    stats_.reward_sum += slot.reward;
  }
  if (open.id_key != 0) {
    Remember(open.id_key, list.user);
  }
}

void Attributor::Remember(uint64_t id_key, UserIdx user) {
  if (remembered_.size() >= kMaxRemembered) {
    remembered_ids_.erase(remembered_.front().id_key);
    remembered_.pop_front();
  }
  remembered_.push_back({id_key, user, SaturatingAdd(clock_, options_.attribution_window_ms)});
  remembered_ids_[id_key] = user;
}

void Attributor::ExpireRemembered() {
  while (!remembered_.empty() && remembered_.front().expires_ms < clock_) {
    remembered_ids_.erase(remembered_.front().id_key);
    remembered_.pop_front();
  }
}

void Attributor::CloseDue(TimestampMs now_ms) {
  clock_ = std::max(clock_, now_ms);
  while (!deadlines_.empty() && deadlines_.begin()->first < clock_) {
    Close(deadlines_.begin()->second, /*early=*/false);
  }
  ExpireRemembered();
}

Attributor::Outcome Attributor::OnEvent(const Event& event, UserIdx user, ItemIdx item,
                                        EventTypeId type) {
  CloseDue(event.ts_ms);
  auto mine = by_user_.find(user);
  Outcome outcome = Outcome::kNotShown;
  if (!event.recommendation_id.empty()) {
    const uint64_t key = IdKey(event.recommendation_id);
    auto named = by_id_.find(key);
    if (named != by_id_.end() && open_.at(named->second).list.user == user) {
      ClosedImpression& list = open_.at(named->second).list;
      outcome = Outcome::kNotShown;
      for (ClosedSlot& slot : list.slots) {
        if (slot.item == item && item != kNoItem) {
          outcome = event.ts_ms <= Deadline(list) ? Attribute(event, &list, &slot, type)
                                                  : Outcome::kWindowPassed;
          break;
        }
      }
    } else {
      auto closed = remembered_ids_.find(key);
      outcome = closed != remembered_ids_.end() && closed->second == user
                    ? Outcome::kWindowPassed
                    : Outcome::kUnknownRecommendation;
    }
  } else if (mine != by_user_.end() && item != kNoItem) {
    const std::vector<uint64_t>& ordinals = mine->second;
    for (auto it = ordinals.rbegin(); it != ordinals.rend() && outcome == Outcome::kNotShown;
         ++it) {
      ClosedImpression& list = open_.at(*it).list;
      if (event.ts_ms > Deadline(list) || event.ts_ms < SaturatingAdd(list.ts_ms, -kClockSkewMs)) {
        continue;
      }
      for (ClosedSlot& slot : list.slots) {
        if (slot.item == item) {
          outcome = Attribute(event, &list, &slot, type);
          break;
        }
      }
    }
  }
  switch (outcome) {
    case Outcome::kAttributed:
      ++stats_.attributed;
      break;
    case Outcome::kUnknownRecommendation:
      ++stats_.unknown_recommendation;
      break;
    case Outcome::kWindowPassed:
      ++stats_.window_passed;
      break;
    case Outcome::kNotShown:
      ++stats_.not_shown;
      break;
  }
  return outcome;
}

Attributor::Outcome Attributor::Attribute(const Event& event, ClosedImpression* list,
                                          ClosedSlot* slot, EventTypeId type) {
  const double reward = Reward(type, event.value);
  const int64_t lag = std::max<int64_t>(0, event.ts_ms - list->ts_ms);
  if (slot->first_lag_ms < 0) {
    slot->reward = 0;
    slot->first_lag_ms = lag;
  }
  slot->reward += reward;
  slot->clicked = slot->clicked || reward > 0;
  size_t bucket = 0;
  while (bucket < kLagBoundsMs.size() && lag > kLagBoundsMs[bucket]) {
    ++bucket;
  }
  ++stats_.lag_counts[bucket];
  stats_.lag_sum_ms += static_cast<double>(lag);
  return Outcome::kAttributed;
}

double Attributor::Reward(EventTypeId type, double value) const {
  return type < rewards_.size() ? rewards_.Weight(type, value) : 0.0;
}

void Attributor::ForgetUser(UserIdx user) {
  if (auto it = by_user_.find(user); it != by_user_.end()) {
    const std::vector<uint64_t> ordinals = it->second;
    for (const uint64_t ordinal : ordinals) {
      Remove(ordinal);
    }
  }
  std::deque<Remembered> kept;
  for (const Remembered& r : remembered_) {
    if (r.user == user) {
      remembered_ids_.erase(r.id_key);
    } else {
      kept.push_back(r);
    }
  }
  remembered_ = std::move(kept);
}

std::optional<Event> Attributor::CloseRecordDue(int64_t idle_ms) const {
  if (deadlines_.empty() || idle_ms <= 0) {
    return std::nullopt;
  }
  const TimestampMs at = SaturatingAdd(clock_, idle_ms);
  if (deadlines_.begin()->first >= at) {
    return std::nullopt;
  }
  return ImpressionCloseRecord(at);
}

bool Attributor::IsOpen(std::string_view recommendation_id) const {
  const uint64_t key = IdKey(recommendation_id);
  return key != 0 && by_id_.contains(key);
}

bool Attributor::Knows(std::string_view recommendation_id) const {
  const uint64_t key = IdKey(recommendation_id);
  return key != 0 && (by_id_.contains(key) || remembered_ids_.contains(key));
}

void Attributor::FillStats(ImpressionStats* out) const {
  *out = stats_;
  out->open = open_.size();
  out->open_items = open_items_;
  out->lag_bounds_ms.assign(kLagBoundsMs.begin(), kLagBoundsMs.end());
}

}  // namespace flywheel::engine
