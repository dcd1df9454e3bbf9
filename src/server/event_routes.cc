// POST /v1/events. The server parses the batch (the JSON form of each event) and the engine
// validates the values, each event once: a batch that parses is handed to Engine::Ingest, which
// validates it; only when Ingest refuses it as invalid does Engine::Validate list every invalid
// event for the 400. A batch with events that do not parse gets Engine::Validate over the rest,
// so that the 400 lists every invalid event, in batch order.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "data/event_json.h"
#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The 400 for a batch with invalid events (`errors` in batch order, not empty).
Response InvalidBatch(const Request& request, const std::vector<EventError>& errors) {
  json list = json::array();
  for (const EventError& e : errors) {
    list.push_back({{"index", e.index}, {"field", e.field}, {"message", e.message}});
  }
  const EventError& first = errors.front();
  const std::string index = std::to_string(first.index);
  const json body = {
      {"code", "invalid_argument"},
      {"message", "event " + index + ": " + first.message},
      {"field", "events[" + index + "]" + (first.field.empty() ? "" : "." + first.field)},
      {"errors", list}};
  return JsonResponse(request, http::status::bad_request, body);
}

// The events that parse (and for each its index in the batch), and an error for each other.
struct ParsedBatch {
  std::vector<Event> events;
  std::vector<size_t> index;
  std::vector<EventError> errors;
};

ParsedBatch ParseBatch(const json& list) {
  const auto now_ms =
      static_cast<TimestampMs>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  ParsedBatch batch;
  batch.events.reserve(list.size());
  batch.index.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    Result<Event> event = data::EventFieldsFromJson(list[i]);
    if (event.ok()) {
      if (Status future = data::CheckNotInFuture(*event, now_ms); !future.ok()) {
        event = future;
      }
    }
    if (!event.ok()) {
      batch.errors.push_back({i, event.status().field(), event.status().message()});
      continue;
    }
    batch.events.push_back(std::move(event).value());
    batch.index.push_back(i);
  }
  return batch;
}

// Adds the engine's verdict on the parsed events to the parse errors, in batch order.
std::vector<EventError> AllErrors(const Engine& engine, ParsedBatch batch) {
  for (EventError& e : engine.Validate(batch.events)) {
    e.index = batch.index[e.index];
    batch.errors.push_back(std::move(e));
  }
  std::sort(batch.errors.begin(), batch.errors.end(),
            [](const EventError& a, const EventError& b) { return a.index < b.index; });
  return std::move(batch.errors);
}

}  // namespace

Response Api::PostEvents(const Call& call) {
  const Request& request = call.request;
  // Bound the values generously above what max_events_per_batch valid events can hold.
  if (auto refused =
          CheckJsonBody(request, limits_.max_events_per_batch * kMaxJsonValuesPerEvent)) {
    return *refused;
  }
  const json doc = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error(request, http::status::bad_request, "invalid_argument", "body is not valid JSON");
  }
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) {
    return Error(request, http::status::bad_request, "invalid_argument",
                 "expected {\"events\": [...]}", "events");
  }
  const json& list = doc["events"];
  if (list.size() > limits_.max_events_per_batch) {
    return Error(
        request, http::status::bad_request, "invalid_argument",
        "more than " + std::to_string(limits_.max_events_per_batch) + " events in one batch",
        "events");
  }
  ParsedBatch batch = ParseBatch(list);
  if (!batch.errors.empty()) {
    return InvalidBatch(request, AllErrors(*call.engine, std::move(batch)));
  }
  if (sink_.load(std::memory_order_acquire) != nullptr) {  // producer mode (doc/stream.md)
    const std::vector<EventError> errors = AllErrors(*call.engine, std::move(batch));
    return errors.empty() ? ProduceEvents(call, list) : InvalidBatch(request, errors);
  }
  auto result = call.engine->Ingest(batch.events);
  if (!result.ok()) {
    if (result.status().code() == StatusCode::kInvalidArgument) {
      const std::vector<EventError> errors = AllErrors(*call.engine, std::move(batch));
      if (!errors.empty()) {
        return InvalidBatch(request, errors);
      }
    }
    return StatusError(request, result.status());
  }
  CountEvents(call.engine->event_types(), batch.events, result->duplicates > 0);
  return JsonResponse(request, http::status::accepted,
                      {{"accepted", result->accepted},
                       {"duplicates", result->duplicates},
                       {"impressions", result->impressions},
                       {"first_seq", result->first_seq},
                       {"last_seq", result->last_seq}});
}

}  // namespace flywheel::server
