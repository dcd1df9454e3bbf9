// doc/config.md's generated block: the key table of server/serve_config.h.
#include <sstream>
#include <string>

#include "server/serve_config.h"

namespace flywheel::server {
namespace {

constexpr std::string_view kBeginMarker =
    "<!-- BEGIN GENERATED: flywheel serve --update-config-doc -->\n";
constexpr std::string_view kEndMarker = "<!-- END GENERATED -->\n";

std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Range(const ConfigKeySpec& spec) {
  if (spec.type != ConfigType::kInt && spec.type != ConfigType::kDouble) {
    return "";
  }
  std::ostringstream out;
  if (spec.type == ConfigType::kInt) {
    out << std::fixed;
    out.precision(0);
  }
  out << "[" << spec.min << ", " << spec.max << "]";
  return out.str();
}

std::string Overrides(const ConfigKeySpec& spec) {
  std::string out;
  if (!spec.flag.empty()) {
    out += "`--" + std::string(spec.flag) + "`";
  }
  if (!spec.env.empty()) {
    out += (out.empty() ? "" : ", ") + ("`" + std::string(spec.env) + "`");
  }
  return out;
}

}  // namespace

std::string ConfigKeysMarkdown() {
  std::string out =
      "| key | type | default | range | flag / environment | effect |\n"
      "|---|---|---|---|---|---|\n";
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    out += "| `" + std::string(spec.path) + "` | " + std::string(ConfigTypeName(spec.type)) +
           " | `" + Cell(spec.fallback) + "` | " + Range(spec) + " | " + Overrides(spec) + " | " +
           Cell(spec.doc) + (spec.secret ? " (secret: never printed)" : "") + " |\n";
  }
  return out;
}

Result<std::string> RegenerateConfigDoc(std::string_view doc) {
  const size_t begin = doc.find(kBeginMarker);
  if (begin == std::string_view::npos) {
    return Status::InvalidArgument("config doc: no generated block (" +
                                   std::string(kBeginMarker.substr(0, kBeginMarker.size() - 1)) +
                                   ")");
  }
  const size_t body = begin + kBeginMarker.size();
  const size_t end = doc.find(kEndMarker, body);
  if (end == std::string_view::npos) {
    return Status::InvalidArgument("config doc: unterminated generated block");
  }
  return std::string(doc.substr(0, body)) + ConfigKeysMarkdown() + std::string(doc.substr(end));
}

}  // namespace flywheel::server
