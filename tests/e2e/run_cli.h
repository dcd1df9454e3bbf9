// RunCli: runs the flywheel binary (FLYWHEEL_BINARY, set by tests/e2e/CMakeLists.txt) with
// `args` through the shell and returns its exit code and output (stdout + stderr).
#pragma once

#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace flywheel::e2e {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

// Runs a shell command line (through popen): its exit code and stdout.
inline RunResult RunShell(const std::string& command) {
  RunResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    result.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline RunResult RunCli(const std::string& args) {
  return RunShell(std::string(FLYWHEEL_BINARY) + " " + args + " 2>&1");
}

// A JSON file the CLI wrote; a discarded value when it is missing or not JSON.
inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

}  // namespace flywheel::e2e
