// Router: the route table of the Api. A route is a method, a path pattern, a name (the "route"
// label of the latency metrics and /v1/stats) and a handler; Find() returns the first route whose
// pattern matches the path and whose method is the request's, else whether the path is known
// under another method (405) or not at all (404).
//
// Patterns: literal text with at most one parameter "{name}", e.g. "/v1/users/{id}" or
// "/v1/users/{id}/recommendations". The parameter matches a non-empty run of bytes; when the
// pattern ends with it, a run without '/' (one path segment); when a literal suffix follows, up
// to that suffix ('/' included). The parameter is returned raw (percent-decoding is the
// caller's). Routes are tried in the order they were added.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace flywheel::server {

class PathPattern {
 public:
  explicit PathPattern(std::string_view pattern);

  // The raw parameter ("" for a pattern without one) when `path` matches, else nullopt.
  std::optional<std::string_view> Match(std::string_view path) const;
  bool has_param() const { return has_param_; }

 private:
  std::string prefix_;  // before the parameter (the whole pattern when there is none)
  std::string suffix_;  // after it
  bool has_param_ = false;
};

template <typename Handler>
class Router {
 public:
  struct Route {
    std::string name;
    boost::beast::http::verb method = boost::beast::http::verb::unknown;
    PathPattern pattern;
    Handler handler;
  };
  struct Found {
    const Route* route = nullptr;  // the route to call; null for 404/405
    std::string_view name;         // the route's name, or a known path's name on 405; "" on 404
    std::string_view param;        // the raw path parameter of `route`
    bool method_not_allowed() const { return route == nullptr && !name.empty(); }
  };

  void Add(std::string name, boost::beast::http::verb method, std::string_view pattern,
           Handler handler) {
    routes_.push_back(Route{std::move(name), method, PathPattern(pattern), std::move(handler)});
  }

  Found Find(boost::beast::http::verb method, std::string_view path) const {
    Found found;
    for (const Route& route : routes_) {
      const std::optional<std::string_view> param = route.pattern.Match(path);
      if (!param) {
        continue;
      }
      if (route.method == method) {
        return Found{&route, route.name, *param};
      }
      if (found.name.empty()) {
        found.name = route.name;  // the first route that knows the path names the 405
      }
    }
    return found;
  }

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace flywheel::server
