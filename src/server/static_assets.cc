#include "server/static_assets.h"

#include <cstdint>
#include <cstdio>

#include "server/api_util.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;

std::string Etag(std::string_view body) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (const char c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%016llx\"", static_cast<unsigned long long>(hash));
  return buf;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Only this origin: no inline script or style, no frames, no plug-ins.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

}  // namespace

StaticAssets::StaticAssets(std::span<const EmbeddedFile> files) {
  for (const EmbeddedFile& file : files) {
    Asset asset;
    asset.body.assign(reinterpret_cast<const char*>(file.data), file.size);
    asset.content_type = std::string(ContentType(file.name));
    asset.etag = Etag(asset.body);
    assets_.emplace(std::string(file.name), std::move(asset));
  }
}

const StaticAssets& StaticAssets::Web() {
  static const StaticAssets* const kWeb = new StaticAssets(EmbeddedWebFiles());
  return *kWeb;
}

const StaticAssets::Asset* StaticAssets::Find(std::string_view name) const {
  const auto it = assets_.find(name);
  return it == assets_.end() ? nullptr : &it->second;
}

std::string_view StaticAssets::ContentType(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "application/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [extension, type] : kTypes) {
    if (EndsWith(name, extension)) {
      return type;
    }
  }
  return "application/octet-stream";
}

bool IfNoneMatchHits(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag == "*") {
      return true;
    }
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    if (tag == etag) {
      return true;
    }
  }
  return false;
}

Response StaticAssets::Serve(const Request& request, std::string_view name) const {
  const Asset* asset = Find(name);
  if (asset == nullptr) {
    return Error(request, http::status::not_found, "not_found",
                 "no dashboard file '" + std::string(name) + "'");
  }
  const auto if_none_match = request.find(http::field::if_none_match);
  const bool not_modified =
      if_none_match != request.end() &&
      IfNoneMatchHits({if_none_match->value().data(), if_none_match->value().size()}, asset->etag);
  Response res{not_modified ? http::status::not_modified : http::status::ok, request.version()};
  res.set(http::field::etag, asset->etag);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (asset->content_type.starts_with("text/html")) {
    res.set("Content-Security-Policy", kContentSecurityPolicy);
    res.set("Referrer-Policy", "no-referrer");
  }
  if (!not_modified) {
    res.set(http::field::content_type, asset->content_type);
    res.body() = asset->body;
  }
  return res;
}

}  // namespace flywheel::server
