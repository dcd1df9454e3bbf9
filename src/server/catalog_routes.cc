// Catalogue routes: PUT/DELETE /v1/items/{id}, PUT/DELETE /v1/users/{id}.
#include <string>

#include "data/catalog_json.h"
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

}  // namespace

Response Api::PutItem(const Call& call) {
  if (auto refused = CheckJsonBody(call.request, kMaxCatalogJsonValues)) {
    return *refused;
  }
  Result<Item> item = data::ParseItemJson(call.param, call.request.body());
  if (!item.ok()) {
    return StatusError(call.request, item.status());
  }
  return Accepted(call.request, call.engine->PutItem(*item));
}

Response Api::DeleteItem(const Call& call) {
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
  return Accepted(call.request, call.engine->PutUser(*user));
}

Response Api::DeleteUser(const Call& call) {
  Result<ForgetResult> forgotten = call.engine->ForgetUser(call.param);
  if (!forgotten.ok()) {
    return StatusError(call.request, forgotten.status());
  }
  return JsonResponse(call.request, http::status::ok,
                      {{"seq", forgotten->seq}, {"snapshot_seq", forgotten->snapshot_seq}});
}

}  // namespace flywheel::server
