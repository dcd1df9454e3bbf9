// Catalogue routes: PUT/DELETE /v1/items/{id}, PUT/DELETE /v1/users/{id}.
#include <string>

#include "data/catalog_json.h"
#include "data/event_json.h"
#include "server/api.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;

Response Accepted(const Request& request, const Result<uint64_t>& seq) {
  if (!seq.ok()) {
    return StatusError(request, seq.status());
  }
  return JsonResponse(request, http::status::accepted, {{"seq", *seq}});
}

// The request's body object (already validated) with the path's id added: the stream entry's
// form of a PUT (doc/stream.md, "Entries").
nlohmann::json WithId(const Api::Call& call) {
  nlohmann::json body = nlohmann::json::parse(call.request.body(), nullptr, false);
  if (!body.is_object()) {
    body = nlohmann::json::object();
  }
  body["id"] = call.param;
  return body;
}

}  // namespace

Response Api::PutItem(const Call& call) {
  if (auto refused = CheckJsonBody(call.request, kMaxCatalogJsonValues)) {
    return *refused;
  }
  Result<Item> item = data::ParseItemJson(call.param, call.request.body());
  if (!item.ok()) {
    return StatusError(call.request, item.status());
  }
  if (producing()) {
    return ProduceCatalog(call, "items", nlohmann::json::array({WithId(call)}).dump());
  }
  return Accepted(call.request, call.engine->PutItem(*item));
}

Response Api::DeleteItem(const Call& call) {
  if (producing()) {
    if (std::string problem = data::IdProblem(call.param); !problem.empty()) {
      return StatusError(call.request, Status::InvalidArgument("id: " + problem).WithField("id"));
    }
    return ProduceCatalog(call, "delete_item", call.param);
  }
  return Accepted(call.request, call.engine->DeleteItem(call.param));
}

Response Api::PutUser(const Call& call) {
  if (auto refused = CheckJsonBody(call.request, kMaxCatalogJsonValues)) {
    return *refused;
  }
  Result<User> user = data::ParseUserJson(call.param, call.request.body());
  if (!user.ok()) {
    return StatusError(call.request, user.status());
  }
  if (producing()) {
    return ProduceCatalog(call, "user", WithId(call).dump());
  }
  return Accepted(call.request, call.engine->PutUser(*user));
}

Response Api::DeleteUser(const Call& call) {
  if (producing()) {  // every node forgets the user when it consumes the entry
    if (std::string problem = data::IdProblem(call.param); !problem.empty()) {
      return StatusError(call.request, Status::InvalidArgument("id: " + problem).WithField("id"));
    }
    return ProduceCatalog(call, "forget_user", call.param);
  }
  Result<ForgetResult> forgotten = call.engine->ForgetUser(call.param);
  if (!forgotten.ok()) {
    return StatusError(call.request, forgotten.status());
  }
  return JsonResponse(call.request, http::status::ok,
                      {{"seq", forgotten->seq}, {"snapshot_seq", forgotten->snapshot_seq}});
}

}  // namespace flywheel::server
