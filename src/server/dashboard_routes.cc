// The dashboard's routes (doc/http_api.md): GET /v1/stats/history, GET /v1/users/{id},
// GET /v1/items/{id}, and the counters behind the live quality of /v1/stats and the item
// counters of GET /v1/items/{id}.
#include <string>
#include <vector>

#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// Ratings count as positive from this value on (the MovieLens convention of `flywheel eval`'s
// default filter "rating>=4").
constexpr double kPositiveRating = 4.0;

json AttributesJson(const KeyValues& attributes) {
  json out = json::object();
  for (const auto& [key, value] : attributes) {
    out[key] = value;
  }
  return out;
}

json OptionalJson(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

json UserJson(const UserDetail& user) {
  json history = json::array();
  for (const UserHistoryEntry& e : user.history) {
    history.push_back({{"item", e.item},
                       {"title", OptionalJson(e.title)},
                       {"type", e.type},
                       {"value", e.value ? json(*e.value) : json(nullptr)},
                       {"ts", e.ts_ms}});
  }
  return {{"id", user.id},
          {"attributes", AttributesJson(user.attributes)},
          {"events", user.events},
          {"history", history}};
}

}  // namespace

void Api::CountServed(const std::string& user, const RecommendResult& result) {
  recommendations_served_.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> items;
  items.reserve(result.items.size());
  for (const Recommendation& r : result.items) {
    items.push_back(r.item);
  }
  live_quality_.Served(user, items);
  item_counters_.Recommended(items);
}

void Api::CountEvents(const EventTypeTable& types, std::span<const Event> events,
                      bool had_duplicates) {
  for (const Event& e : events) {
    // A batch the engine partly deduplicated may be a resend: its events with ids are left
    // out (which of them were new is not known here), so a retry never counts twice.
    if (had_duplicates && !e.id.empty()) {
      continue;
    }
    const Result<EventTypeId> type = types.Find(e.type);
    if (!type.ok() || !types.type(*type).positive) {
      continue;
    }
    if (types.IsRating(*type) && e.value < kPositiveRating) {
      continue;
    }
    if (live_quality_.Positive(e.user, e.item).in_list) {
      item_counters_.ClickedAfterRecommended(e.item);
    }
  }
}

Response Api::GetUser(const Call& call) {
  const Result<int> limit = ParseIntParam(call.query, "limit", 50, 1, 500);
  if (!limit.ok()) {
    return StatusError(call.request, limit.status());
  }
  const Result<UserDetail> user = call.engine->GetUser(call.param, *limit);
  if (!user.ok()) {
    return StatusError(call.request, user.status());
  }
  return JsonResponse(call.request, http::status::ok, UserJson(*user));
}

Response Api::GetItem(const Call& call) {
  const Result<ItemDetail> item = call.engine->GetItem(call.param);
  if (!item.ok()) {
    return StatusError(call.request, item.status());
  }
  const ItemCounters::Counts counts = item_counters_.Get(item->id);
  return JsonResponse(call.request, http::status::ok,
                      {{"id", item->id},
                       {"title", OptionalJson(item->title)},
                       {"categories", item->categories},
                       {"tags", item->tags},
                       {"attributes", AttributesJson(item->attributes)},
                       {"created", item->created_ms != 0 ? json(item->created_ms) : json(nullptr)},
                       {"deleted", item->deleted},
                       {"events", item->events},
                       {"recommended", counts.recommended},
                       {"clicked_after_recommended", counts.clicked_after_recommended}});
}

Response Api::StatsHistoryRoute(const Call& call) {
  return JsonResponse(call.request, http::status::ok, history_.ToJson());
}

}  // namespace flywheel::server
