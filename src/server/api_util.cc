#include "server/api_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

int FromHex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Response JsonResponse(const Request& request, http::status status, const json& body) {
  Response res{status, request.version()};
  res.set(http::field::content_type, "application/json");
  // Ids and paths from the request may hold invalid UTF-8: replaced, never a throw (500).
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

Response Error(const Request& request, http::status status, const std::string& code,
               const std::string& message, const std::string& field) {
  return ErrorResponse(request.version(), status, code, message, field);
}

Response StatusError(const Request& request, const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return Error(request, http::status::bad_request, "invalid_argument", status.message(),
                   status.field());
    case StatusCode::kNotFound:
      return Error(request, http::status::not_found, "not_found", status.message());
    case StatusCode::kUnimplemented:
      return Error(request, http::status::not_implemented, "unimplemented", status.message());
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnavailable:
    case StatusCode::kIoError:
    case StatusCode::kResourceExhausted:
    case StatusCode::kCorruption:
      return Error(request, http::status::service_unavailable, "unavailable", status.message());
    default:
      return Error(request, http::status::internal_server_error, "internal", status.message());
  }
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? FromHex(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? FromHex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad percent-escape in URL");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<int> ParseIntParam(const QueryParams& query, const std::string& key, int fallback, int lo,
                          int hi) {
  auto it = query.find(key);
  if (it == query.end()) {
    return fallback;
  }
  // The whole value, digits only (no sign, space or NUL that strtol would stop at or skip).
  const std::string& text = it->second;
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    return Status::InvalidArgument("field '" + key + "': must be an integer in " +
                                   std::to_string(lo) + ".." + std::to_string(hi))
        .WithField(key);
  }
  return static_cast<int>(value);
}

Result<bool> ParseBoolParam(const QueryParams& query, const std::string& key, bool fallback) {
  auto it = query.find(key);
  if (it == query.end()) {
    return fallback;
  }
  if (it->second == "true" || it->second == "1") {
    return true;
  }
  if (it->second == "false" || it->second == "0") {
    return false;
  }
  return Status::InvalidArgument("field '" + key + "': must be true or false").WithField(key);
}

bool IsRequestIdToken(std::string_view id) {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == ':' ||
           c == '-';
  });
}

JsonShape ScanJson(std::string_view text) {
  JsonShape shape;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      shape.depth = std::max(shape.depth, ++depth);
      ++shape.values;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',') {
      ++shape.values;
    }
  }
  return shape;
}

std::optional<Response> CheckQueryParams(const Request& request, const QueryParams& query,
                                         const std::vector<std::string>& allowed) {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : query) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      unknown.push_back(key);
    }
  }
  if (unknown.empty()) {
    return std::nullopt;
  }
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
      out += (out.empty() ? "'" : ", '") + name + "'";
    }
    return out;
  };
  return Error(
      request, boost::beast::http::status::bad_request, "invalid_argument",
      std::string(unknown.size() == 1 ? "unknown query parameter "
                                      : "unknown query "
                                        "parameters ") +
          join(unknown) +
          (allowed.empty() ? " (this route takes none)" : " (allowed: " + join(allowed) + ")"),
      unknown.front());
}

}  // namespace flywheel::server
