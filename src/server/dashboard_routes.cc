// The dashboard's routes (doc/http_api.md, "Dashboard"): GET /v1/stats/history, and the
// counters behind the live quality and the item counters of /v1/stats and GET /v1/items/{id}.
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

void Api::CountEvents(std::span<const Event> events, bool had_duplicates) {
  for (const Event& e : events) {
    // A batch the engine partly deduplicated may be a resend: its events with ids are left
    // out (which of them were new is not known here), so a retry never counts twice.
    if (had_duplicates && !e.id.empty()) {
      continue;
    }
    const Result<EventTypeId> type = types_.Find(e.type);
    if (!type.ok() || !types_.type(*type).positive) {
      continue;
    }
    if (types_.type(*type).name == "rating" && e.value < kPositiveRating) {
      continue;
    }
    if (live_quality_.Positive(e.user, e.item).in_list) {
      item_counters_.ClickedAfterRecommended(e.item);
    }
  }
}

Response Api::StatsHistoryRoute(const Call& call) {
  return JsonResponse(call.request, http::status::ok, history_.ToJson());
}

}  // namespace flywheel::server
