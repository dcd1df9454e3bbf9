#include "testing/redis_server.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace flywheel::testing {
namespace {

// redis-server in a directory of PATH.
bool HaveRedisServer() {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): tests' main thread
  const std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t colon = std::min(dirs.find(':', start), dirs.size());
    const std::string file = dirs.substr(start, colon - start) + "/redis-server";
    if (colon > start && access(file.c_str(), X_OK) == 0) {
      return true;
    }
    start = colon + 1;
  }
  return false;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// PING answered with +PONG.
bool Pong(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char ping[] = "PING\r\n";
    char buf[16] = {};
    ok = write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1) &&
         read(fd, buf, sizeof(buf) - 1) > 0 && std::strncmp(buf, "+PONG", 5) == 0;
  }
  close(fd);
  return ok;
}

}  // namespace

bool SkipRedisTests() {
  const char* skip = std::getenv("FLYWHEEL_SKIP_REDIS");  // NOLINT(concurrency-mt-unsafe)
  return !HaveRedisServer() && skip != nullptr && std::string(skip) == "1";
}

Result<std::unique_ptr<RedisServer>> RedisServer::Start(Options options) {
  if (!HaveRedisServer()) {
    return Status::FailedPrecondition(
        "redis-server is not installed: run ./scripts/install_deps.sh (Debian package "
        "redis-server), or set FLYWHEEL_SKIP_REDIS=1 to skip the tests labelled redis");
  }
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options)));
  server->port_ = FreePort();
  FLYWHEEL_RETURN_IF_ERROR(server->Spawn());
  return server;
}

Status RedisServer::Spawn() {
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   options_.dir,
                                   "--save",
                                   "",
                                   "--logfile",
                                   "redis.log",
                                   "--daemonize",
                                   "no"};
  if (options_.appendfsync.empty()) {
    args.insert(args.end(), {"--appendonly", "no"});
  } else {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", options_.appendfsync});
  }
  const pid_t pid = fork();
  if (pid < 0) {
    return Status::Internal("fork failed");
  }
  if (pid == 0) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 500; ++i) {  // up to 5 s
    if (Pong(port_)) {
      return Status::Ok();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal("redis-server exited at start (see " + options_.dir + "/redis.log)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return Status::DeadlineExceeded("redis-server did not answer PING within 5 s");
}

void RedisServer::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

Status RedisServer::Restart() {
  Kill();
  return Spawn();
}

RedisServer::~RedisServer() {
  Kill();
}

}  // namespace flywheel::testing
