// RedisServer: a redis-server child process on a free loopback port, for the tests of the
// stream module (label redis). Each test gets its own server and directory.
//
// Debian's redis-server must be installed (`./scripts/install_deps.sh` does). When it is not,
// Start fails with instructions; the test fails unless FLYWHEEL_SKIP_REDIS=1 is set, in which
// case it is skipped (reported as skipped, never as passed).
#pragma once

#include <memory>
#include <string>

#include "flywheel/result.h"

namespace flywheel::testing {

class RedisServer {
 public:
  struct Options {
    std::string dir;          // its working directory (AOF files, log)
    std::string appendfsync;  // "": no AOF; "always" / "everysec": AOF on with that policy
  };
  static Result<std::unique_ptr<RedisServer>> Start(Options options);
  ~RedisServer();  // SIGKILL and reap
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& stream) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + stream;
  }
  void Kill();       // SIGKILL, reaped
  Status Restart();  // the same port and directory (what AOF kept survives)

 private:
  explicit RedisServer(Options options) : options_(std::move(options)) {}
  Status Spawn();

  Options options_;
  int port_ = 0;
  int pid_ = -1;
};

// Whether a test needing Redis should be skipped: redis-server is missing and
// FLYWHEEL_SKIP_REDIS=1 is set.
bool SkipRedisTests();

}  // namespace flywheel::testing
