// The dashboard's routes (doc/dashboard.md): GET / (index.html) and GET /ui/{name} (its scripts,
// style sheet and icon), served from the files compiled into the binary (server/static_assets.h).
// No key: the files hold no data; the page sends the key the user typed to the data routes.
#include "server/api.h"
#include "server/static_assets.h"

namespace flywheel::server {

Response Api::WebIndex(const Call& call) {
  return StaticAssets::Web().Serve(call.request, "index.html");
}

Response Api::WebAsset(const Call& call) {
  return StaticAssets::Web().Serve(call.request, call.param);
}

}  // namespace flywheel::server
