// Operations routes: GET /healthz, GET /readyz, GET /metrics, GET /v1/stats,
// POST /v1/admin/snapshot.
#include <chrono>
#include <string>

#include "server/api.h"
#include "server/impression_json.h"
#include "server/recovery_json.h"
#include "server/write_state.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The latency of each route served so far, as /v1/stats reports it.
json LatencyJson(const std::map<std::string, std::unique_ptr<base::AtomicHistogram>>& latency) {
  json out = json::object();
  for (const auto& [route, h] : latency) {
    out[route] = {{"p50", h->Quantile(0.5)}, {"p99", h->Quantile(0.99)}, {"count", h->count()}};
  }
  return out;
}

}  // namespace

Response Api::Healthz(const Call& call) {
  return JsonResponse(call.request, http::status::ok, {{"status", "ok"}});
}

Response Api::Readyz(const Call& call) {
  if (call.engine == nullptr) {
    return JsonResponse(call.request, http::status::service_unavailable,
                        {{"status", "recovering"}});
  }
  return ReadyzResponse(call.request, call.engine->stats());
}

Response Api::Snapshot(const Call& call) {
  auto seq = call.engine->Snapshot();
  if (!seq.ok()) {
    return StatusError(call.request, seq.status());
  }
  return JsonResponse(call.request, http::status::ok, {{"snapshot_seq", *seq}});
}

namespace {

// The stream consumer's counters and lag (doc/stream.md) in the Prometheus text format.
std::string StreamMetrics(const json& stats) {
  std::string text;
  const auto metric = [&](const char* name, const char* type, const char* help,
                          const std::string& value) {
    text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
            name + " " + value + "\n";
  };
  const auto count = [&](const char* key) { return std::to_string(stats[key].get<uint64_t>()); };
  metric("flywheel_stream_entries_total", "counter", "Stream entries read.", count("entries"));
  metric("flywheel_stream_events_total", "counter", "Events logged from the stream (new).",
         count("events"));
  metric("flywheel_stream_duplicates_total", "counter",
         "Events read again and dropped by the dedup window.", count("duplicates"));
  metric("flywheel_stream_dead_letters_total", "counter",
         "Entries parked in the dead-letter stream.", count("dead_letters"));
  metric("flywheel_stream_failures_total", "counter", "Redis or write failures retried.",
         count("failures"));
  metric("flywheel_stream_connected", "gauge", "1 while connected to Redis.",
         stats["connected"].get<bool>() ? "1" : "0");
  text +=
      "# HELP flywheel_stream_lag_ms Time from XADD to visible, per entry.\n"
      "# TYPE flywheel_stream_lag_ms summary\n";
  text += "flywheel_stream_lag_ms{quantile=\"0.5\"} " + stats["lag_ms"]["p50"].dump() + "\n";
  text += "flywheel_stream_lag_ms{quantile=\"0.99\"} " + stats["lag_ms"]["p99"].dump() + "\n";
  text += "flywheel_stream_lag_ms_count " + stats["lag_ms"]["count"].dump() + "\n";
  if (stats.contains("deltas")) {  // a trainer publishing deltas, or a delta replica
    const json& d = stats["deltas"];
    const auto delta_count = [&](const char* key) {
      return std::to_string(d[key].get<uint64_t>());
    };
    metric("flywheel_stream_delta_entries_total", "counter",
           "Delta entries published (trainer) or applied (replica).", delta_count("entries"));
    metric("flywheel_stream_delta_bytes_total", "counter", "Bytes of those delta entries.",
           delta_count("bytes"));
    metric("flywheel_stream_delta_failures_total", "counter",
           "Delta publications or reads that failed.", delta_count("failures"));
    if (d.contains("refused")) {
      metric("flywheel_stream_delta_refused_total", "counter", "Delta entries refused.",
             delta_count("refused"));
      metric("flywheel_stream_delta_gaps_total", "counter",
             "Restarts from the newest full delta after missed entries.", delta_count("gaps"));
      text +=
          "# HELP flywheel_stream_delta_model_lag_ms Time from XADD to the replica's parameters "
          "holding the event.\n# TYPE flywheel_stream_delta_model_lag_ms summary\n";
      for (const char* q : {"p50", "p99"}) {
        text += std::string("flywheel_stream_delta_model_lag_ms{quantile=\"") +
                (q[1] == '5' ? "0.5" : "0.99") + "\"} " + d["model_lag_ms"][q].dump() + "\n";
      }
    }
  }
  return text;
}

}  // namespace

Response Api::Stats(const Call& call) {
  const EngineStats s = call.engine->stats();
  const Result<StorageStats> storage = call.engine->Storage();
  if (!storage.ok()) {
    return StatusError(call.request, storage.status());
  }
  const LiveQuality::Totals quality = live_quality_.totals();
  json model_versions = json::array();
  for (const std::string& name : s.models) {
    model_versions.push_back(
        {{"name", name}, {"version", name + "@" + std::to_string(s.applied_seq)}});
  }
  const auto uptime = std::chrono::steady_clock::now() - started_;
  json latency;
  {
    base::MutexLock lock(&histograms_mu_);
    latency = LatencyJson(latency_);
  }
  latency["ingest"] = {{"p50", s.ingest_ms_p50}, {"p99", s.ingest_ms_p99}};
  json body = {
      {"events", s.last_seq},
      {"last_seq", s.last_seq},
      {"durable_seq", s.durable_seq},
      {"applied_seq", s.applied_seq},
      {"users", s.users},
      {"items", s.items},
      {"duplicates", s.duplicates},
      {"snapshot_seq", s.snapshot_seq},
      {"deleted_items", s.deleted_items},
      {"forgotten_users", s.forgotten_users},
      {"vector_index", {{"items", s.vector_index_items}, {"upserts", s.vector_index_upserts}}},
      {"models", s.models},
      {"latency_ms", latency},
      {"freshness_ms",
       {{"p50", s.freshness_ms_p50}, {"p99", s.freshness_ms_p99}, {"count", s.freshness_count}}},
      {"live_quality",
       {{"hr@10", quality.lists > 0
                      ? json(static_cast<double>(quality.hits) / static_cast<double>(quality.lists))
                      : json(nullptr)},
        {"lists", quality.lists},
        {"hits", quality.hits}}},
      {"storage",
       {{"log_bytes", storage->log_bytes},
        {"snapshot_bytes", storage->snapshot_bytes},
        {"snapshots", storage->snapshots}}},
      {"writes",
       {{"state", s.write_state},
        {"error", s.write_error},
        {"retry_after_s", s.write_retry_after_s}}},
      {"model_versions", model_versions},
      {"recovery", RecoveryReportJson(s.recovery)},
      {"impressions", ImpressionStatsJson(s.impressions)},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()}};
  const StreamView* view = stream_view_.load(std::memory_order_acquire);
  body["stream"] = view != nullptr ? view->Stats() : json(nullptr);
  return JsonResponse(call.request, http::status::ok, body);
}

Response Api::Metrics(const Call& call) {
  Response res{http::status::ok, call.request.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  std::string text;
  Engine* engine = call.engine;
  text += "# HELP flywheel_ready 1 once recovery finished.\n# TYPE flywheel_ready gauge\n";
  text += std::string("flywheel_ready ") + (engine != nullptr ? "1" : "0") + "\n";
  text +=
      "# HELP flywheel_http_requests_total HTTP requests served.\n"
      "# TYPE flywheel_http_requests_total counter\n";
  text += "flywheel_http_requests_total " + std::to_string(requests_.load()) + "\n";
  text +=
      "# HELP flywheel_http_errors_total HTTP responses with status >= 500.\n"
      "# TYPE flywheel_http_errors_total counter\n";
  text += "flywheel_http_errors_total " + std::to_string(errors_.load()) + "\n";
  text +=
      "# HELP flywheel_http_rate_limited_total HTTP requests answered 429 (rate limits).\n"
      "# TYPE flywheel_http_rate_limited_total counter\n";
  text += "flywheel_http_rate_limited_total " + std::to_string(rate_limited()) + "\n";
  if (engine != nullptr) {
    text +=
        "# HELP flywheel_events_total Events logged (acknowledged, duplicates excluded).\n"
        "# TYPE flywheel_events_total counter\n";
    text += "flywheel_events_total " + std::to_string(engine->stats().last_seq) + "\n";
    text += engine->MetricsText();
  }
  if (const StreamView* view = stream_view_.load(std::memory_order_acquire)) {
    text += StreamMetrics(view->Stats());
  }
  text +=
      "# HELP flywheel_request_seconds HTTP request latency by route.\n"
      "# TYPE flywheel_request_seconds histogram\n";
  {
    base::MutexLock lock(&histograms_mu_);
    for (const auto& [route, h] : latency_) {
      text += h->Prometheus("flywheel_request_seconds", "route=\"" + route + "\"");
    }
  }
  res.body() = std::move(text);
  return res;
}

}  // namespace flywheel::server
