// A node in a replicated deployment (doc/stream.md): producer mode of POST /v1/events, GET
// /v1/replication, min_version on reads, and the writes a stream consumer refuses.
#include <random>

#include "base/strings.h"
#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// 128 random bits in hex: the id of an event appended without one, so that a retried XADD (or
// an entry read twice) is applied once.
std::string RandomId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "e-";
  for (int word = 0; word < 2; ++word) {
    uint64_t v = rng();
    for (int i = 0; i < 16; ++i, v >>= 4) {
      out.push_back(kHex[v & 15]);
    }
  }
  return out;
}

}  // namespace

void Api::SetReplication(EventSink* sink, const StreamView* view, BootstrapSource* bootstrap) {
  sink_.store(sink, std::memory_order_release);
  stream_view_.store(view, std::memory_order_release);
  bootstrap_.store(bootstrap, std::memory_order_release);
}

Response Api::ReplicaBootstrap(const Call& call) {
  BootstrapSource* source = bootstrap_.load(std::memory_order_acquire);
  if (source == nullptr) {
    return Error(call.request, http::status::not_found, "not_found",
                 "this node has no snapshots for replicas (only a trainer, role trainer)");
  }
  Result<json> manifest = source->Prepare();
  if (!manifest.ok()) {
    Response res = StatusError(call.request, manifest.status());
    if (manifest.status().code() == StatusCode::kUnavailable) {
      res.set(http::field::retry_after, "1");
    }
    return res;
  }
  return JsonResponse(call.request, http::status::ok, *manifest);
}

Response Api::ReplicaFile(const Call& call) {
  BootstrapSource* source = bootstrap_.load(std::memory_order_acquire);
  if (source == nullptr) {
    return Error(call.request, http::status::not_found, "not_found",
                 "this node has no snapshots for replicas (only a trainer, role trainer)");
  }
  Result<std::string> bytes = source->ReadFile(call.param);
  if (!bytes.ok()) {
    return StatusError(call.request, bytes.status());
  }
  Response res{http::status::ok, call.request.version()};
  res.set(http::field::content_type, "application/octet-stream");
  res.body() = std::move(bytes).value();
  res.prepare_payload();
  return res;
}

Response Api::ProduceEvents(const Call& call, const json& list) {
  EventSink* sink = sink_.load(std::memory_order_acquire);
  std::vector<std::string> texts;
  texts.reserve(list.size());
  for (const json& event : list) {
    if (event.contains("id")) {
      texts.push_back(event.dump());
    } else {
      json with_id = event;
      with_id["id"] = RandomId();
      texts.push_back(with_id.dump());
    }
  }
  Result<std::string> id = sink->AppendEvents(texts);
  if (!id.ok()) {
    return Error(call.request, http::status::service_unavailable, "unavailable",
                 "cannot append to " + sink->Describe() + ": " + id.status().message());
  }
  return JsonResponse(
      call.request, http::status::accepted,
      {{"accepted", list.size()}, {"stream", sink->Describe()}, {"stream_id", *id}});
}

Response Api::ProduceCatalog(const Call& call, std::string_view field, std::string value) {
  EventSink* sink = sink_.load(std::memory_order_acquire);
  Result<std::string> id = sink->Append(field, std::move(value));
  if (!id.ok()) {
    return Error(call.request, http::status::service_unavailable, "unavailable",
                 "cannot append to " + sink->Describe() + ": " + id.status().message());
  }
  return JsonResponse(call.request, http::status::accepted,
                      {{"stream", sink->Describe()}, {"stream_id", *id}});
}

std::optional<Response> Api::RefuseUnreplicated(const Request& request,
                                                const std::string& route) const {
  if (stream_view_.load(std::memory_order_acquire) == nullptr) {
    return std::nullopt;
  }
  // With a producer the catalogue writes travel through the stream (catalog_routes.cc).
  const bool catalog = route == "items" || route == "items_batch" || route == "users";
  const bool write = request.method() != http::verb::get && request.method() != http::verb::head;
  const bool refused = write && (route == "impressions" || (catalog && !producing()));
  if (!refused) {
    return std::nullopt;
  }
  return NotReplicated(request);
}

Response Api::NotReplicated(const Request& request) {
  return Error(request, http::status::conflict, "not_replicated",
               "this node consumes an event stream: impressions recorded apart from events (and "
               "catalogue writes on a node without stream.produce_to) are not carried by the "
               "stream, so they would make the nodes diverge (doc/stream.md, \"Limits\"); send "
               "impressions with the events (\"impressions\": [...])");
}

std::optional<Response> Api::AwaitVersion(const Call& call) const {
  const auto it = call.query.find("min_version");
  if (it == call.query.end()) {
    return std::nullopt;
  }
  const std::string& want = it->second;
  const StreamView* view = stream_view_.load(std::memory_order_acquire);
  Status st;
  if (want.find('-') != std::string::npos) {
    if (view == nullptr) {
      return StatusError(call.request,
                         Status::InvalidArgument("field 'min_version': a stream entry id, but "
                                                 "this node consumes no stream (give a sequence "
                                                 "number)")
                             .WithField("min_version"));
    }
    st = view->WaitApplied(want, limits_.min_version_wait_ms);
  } else {
    Result<int64_t> seq = base::ParseInt64(want);
    if (!seq.ok() || *seq < 0) {
      return StatusError(call.request,
                         Status::InvalidArgument("field 'min_version': expected a sequence "
                                                 "number or a stream entry id (<ms>-<n>)")
                             .WithField("min_version"));
    }
    st = call.engine->WaitForApplied(static_cast<uint64_t>(*seq), limits_.min_version_wait_ms);
  }
  if (st.code() == StatusCode::kInvalidArgument) {
    return StatusError(call.request, st.WithField("min_version"));
  }
  if (!st.ok()) {
    Response res = Error(call.request, http::status::service_unavailable, "version_not_reached",
                         "min_version " + want + " not reached within " +
                             std::to_string(limits_.min_version_wait_ms) + " ms: " + st.message());
    res.set(http::field::retry_after, "1");
    return res;
  }
  return std::nullopt;
}

Response Api::Replication(const Call& call) {
  const StreamView* view = stream_view_.load(std::memory_order_acquire);
  EventSink* sink = sink_.load(std::memory_order_acquire);
  const EngineStats s = call.engine->stats();
  json body = {{"applied_seq", s.applied_seq},
               {"last_seq", s.last_seq},
               {"produce_to", sink != nullptr ? json(sink->Describe()) : json(nullptr)}};
  if (view != nullptr) {
    body["version"] = view->AppliedId();
    body["stream"] = view->Stats();
  } else {
    body["version"] = std::to_string(s.applied_seq);
    body["stream"] = nullptr;
  }
  return JsonResponse(call.request, http::status::ok, body);
}

}  // namespace flywheel::server
