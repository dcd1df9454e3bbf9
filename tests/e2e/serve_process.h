// Server: `flywheel serve` (FLYWHEEL_BINARY) as a subprocess on an ephemeral loopback port,
// stopped with SIGTERM.
#pragma once

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace flywheel::e2e {

class Server {
 public:
  // `extra`: more arguments (e.g. {"--param", "bpr.threads=1"}); `stderr_path`: a file for the
  // server's stderr (its log), else the test's stderr.
  Server(const std::string& data_dir, const std::string& models, const std::string& config = "",
         const std::vector<std::string>& extra = {}, const std::string& stderr_path = "") {
    std::string binary = FLYWHEEL_BINARY;
    std::vector<std::string> args = {binary,   "serve", "--data-dir", data_dir,
                                     "--port", "0",     "--models",   models};
    if (!config.empty()) {
      args.push_back("--config");
      args.push_back(config);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe(fds) != 0) {
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    if (!stderr_path.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
    if (rc != 0) {
      pid_ = 0;
      return;
    }
    char line[4096];
    while (std::fgets(line, sizeof(line), out_) != nullptr) {
      const nlohmann::json doc = nlohmann::json::parse(line, nullptr, false);
      if (doc.is_object() && doc.value("msg", "") == "listening") {
        url_ = "http://" + doc.value("address", "");
        return;
      }
    }
  }
  ~Server() { Stop(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }
  // SIGTERM; returns the exit code.
  int Stop() {
    int code = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = 0;
    }
    if (out_ != nullptr) {
      std::fclose(out_);
      out_ = nullptr;
    }
    return code;
  }

 private:
  pid_t pid_ = 0;
  FILE* out_ = nullptr;
  std::string url_;
};

}  // namespace flywheel::e2e
