#include "fuzz_util.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

namespace flywheel::fuzz {
namespace {

std::string MakeScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/flywheel-fuzz-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("fuzz: mkdtemp");
    std::abort();
  }
  return pattern;
}

struct Scratch {
  std::string dir = MakeScratchDir();
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Scratch& GetScratch() {
  static Scratch scratch;
  return scratch;
}

}  // namespace

std::vector<std::string_view> SplitParts(std::string_view data, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = data.find(kPartSeparator);
    if (at == std::string_view::npos) {
      break;
    }
    parts.push_back(data.substr(0, at));
    data.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(data);
  return parts;
}

const std::string& ScratchDir() {
  return GetScratch().dir;
}

std::string FreshDir() {
  const std::string dir = ScratchDir() + "/in";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "fuzz: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    std::abort();
  }
  return dir;
}

std::string WriteFile(const std::string& dir, std::string_view name, std::string_view bytes) {
  const std::string path = dir + "/" + std::string(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace flywheel::fuzz
