#include "engine/store/created_paths.h"

#include <filesystem>
#include <system_error>

namespace flywheel::engine {

void CreatedPaths::Note(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::symlink_status(path, ec);
  // A path that cannot be examined (no permission...) is not recorded: never remove what might
  // have existed.
  if (status.type() == std::filesystem::file_type::not_found) {
    paths_.push_back(path);
  }
}

CreatedPaths::~CreatedPaths() {
  for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
    std::error_code ec;  // best effort: the open already failed with its own error
    std::filesystem::remove_all(*it, ec);
  }
}

}  // namespace flywheel::engine
