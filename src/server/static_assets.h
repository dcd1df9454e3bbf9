// StaticAssets: files compiled into the binary (the dashboard of doc/dashboard.md, web/), served
// with their Content-Type, a strong ETag (a hash of the content) and `Cache-Control: no-cache`
// (the browser revalidates each load: a 304 without a body while the binary is the same, the new
// files after an upgrade). HTML carries a Content-Security-Policy that allows only this origin:
// the dashboard fetches nothing from anywhere else and runs no inline script or style.
//
// The bytes come from generated/web_assets.cc (cmake/embed_web.cmake, cmake/web_assets.cmake):
// EmbeddedWebFiles() lists them. Immutable after construction; Serve is thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "server/http_server.h"

namespace flywheel::server {

// One compiled-in file: a name (one path segment, e.g. "app.js") and its bytes.
struct EmbeddedFile {
  std::string_view name;
  const unsigned char* data = nullptr;
  size_t size = 0;
};

// The files of web/, in the order of cmake/web_assets.cmake (generated at build time).
std::span<const EmbeddedFile> EmbeddedWebFiles();

class StaticAssets {
 public:
  struct Asset {
    std::string body;
    std::string content_type;
    std::string etag;  // "\"<16 hex digits>\"", FNV-1a 64 of the body
  };

  explicit StaticAssets(std::span<const EmbeddedFile> files);

  // The dashboard (EmbeddedWebFiles()), built once.
  static const StaticAssets& Web();

  // The asset called `name`, or null.
  const Asset* Find(std::string_view name) const;
  size_t size() const { return assets_.size(); }

  // 200 with the asset, 304 when the request's If-None-Match names its ETag (or is "*"), 404
  // (the API's error shape) for an unknown name.
  Response Serve(const Request& request, std::string_view name) const;

  // By extension: text/html, text/css, application/javascript, image/svg+xml, application/json,
  // image/png, text/plain; "application/octet-stream" for anything else (all text types UTF-8).
  static std::string_view ContentType(std::string_view name);

 private:
  std::map<std::string, Asset, std::less<>> assets_;
};

// Whether an If-None-Match header value (a list of entity tags, or "*") matches `etag`. Weak
// tags (W/"...") match their strong form (RFC 9110 weak comparison, as for GET).
bool IfNoneMatchHits(std::string_view header, std::string_view etag);

}  // namespace flywheel::server
