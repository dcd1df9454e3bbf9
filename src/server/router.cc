#include "server/router.h"

#include "base/check.h"

namespace flywheel::server {

PathPattern::PathPattern(std::string_view pattern) {
  const size_t open = pattern.find('{');
  if (open == std::string_view::npos) {
    prefix_ = std::string(pattern);
    return;
  }
  const size_t close = pattern.find('}', open);
  FLYWHEEL_CHECK(close != std::string_view::npos && pattern.find('{', close) == std::string::npos)
      << "router: at most one {parameter} per pattern: " << pattern;
  prefix_ = std::string(pattern.substr(0, open));
  suffix_ = std::string(pattern.substr(close + 1));
  has_param_ = true;
}

std::optional<std::string_view> PathPattern::Match(std::string_view path) const {
  if (!has_param_) {
    return path == prefix_ ? std::optional<std::string_view>("") : std::nullopt;
  }
  if (path.size() <= prefix_.size() + suffix_.size() || !path.starts_with(prefix_) ||
      !path.ends_with(suffix_)) {
    return std::nullopt;
  }
  const std::string_view param =
      path.substr(prefix_.size(), path.size() - prefix_.size() - suffix_.size());
  if (suffix_.empty() && param.find('/') != std::string_view::npos) {
    return std::nullopt;  // a trailing parameter is one path segment
  }
  return param;
}

}  // namespace flywheel::server
