// Helpers shared by the route handlers of the Api (api.cc, *_routes.cc): JSON responses, errors
// from a Status (its field() becomes the body's "field"), query and path decoding, the cheap
// pre-parse scan of JSON bodies. Internal to src/server.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "flywheel/result.h"

#include "server/http_server.h"

namespace flywheel::server {

using QueryParams = std::map<std::string, std::string>;

// A valid event holds at most ~40 JSON values (6 fields, 32 context entries, its object).
inline constexpr size_t kMaxJsonValuesPerEvent = 100;
// An item or user body holds at most 64 categories, 256 tags and 256 attributes.
inline constexpr size_t kMaxCatalogJsonValues = 1000;

Response JsonResponse(const Request& request, boost::beast::http::status status,
                      const nlohmann::json& body);
Response Error(const Request& request, boost::beast::http::status status, const std::string& code,
               const std::string& message, const std::string& field = "");
// The response for a non-OK status: kInvalidArgument 400 (with status.field()), kNotFound 404,
// kUnimplemented 501, unavailable kinds 503, the rest 500.
Response StatusError(const Request& request, const Status& status);

// Decodes %XX escapes (and '+' as a space in query strings). kInvalidArgument on a bad escape.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);
// The integer parameter `key` in lo..hi (decimal digits only), or `fallback` when absent;
// kInvalidArgument with field() == key otherwise.
Result<int> ParseIntParam(const QueryParams& query, const std::string& key, int fallback, int lo,
                          int hi);
// nullopt when every key of `query` is in `allowed`, else the 400 naming the unknown ones
// (`field`: the first, in key order; the message lists them all and the allowed ones).
std::optional<Response> CheckQueryParams(const Request& request, const QueryParams& query,
                                         const std::vector<std::string>& allowed);
// "true"/"1"/"false"/"0", or `fallback` when absent; kInvalidArgument with field() == key.
Result<bool> ParseBoolParam(const QueryParams& query, const std::string& key, bool fallback);

// An X-Request-Id worth echoing: 1..128 characters of [A-Za-z0-9._:-] (never reflects control
// characters, quotes or bytes that are not UTF-8 into headers and bodies).
bool IsRequestIdToken(std::string_view id);

// One linear pass over a JSON text, ignoring brackets and commas inside strings: its nesting
// depth and an upper bound on its values (one per comma and per opening bracket, plus one). No
// allocation; run before parsing so that hostile bodies are refused cheaply.
struct JsonShape {
  int depth = 0;
  size_t values = 1;
};
JsonShape ScanJson(std::string_view text);

}  // namespace flywheel::server
