// `flywheel serve` out of file descriptors (issue 17, item 6): at `ulimit -n` the accept loop
// spun at 85% CPU and new clients hung. The server here runs with RLIMIT_NOFILE 64 and gets
// 100 idle connections: it must back off (little CPU) and still serve a new client. The CPU
// bound is generous (spinning costs ~1 CPU-second per second); waits are upper bounds.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "serve_process.h"
#include "testing/status_matchers.h"

namespace flywheel::e2e {
namespace {

// User + system CPU seconds of process `pid` (/proc/<pid>/stat, fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) {
      ticks += std::stol(field);
    }
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The first line of the response to GET /healthz on a new connection ("" after `timeout_ms`).
std::string Healthz(uint16_t port, int timeout_ms) {
  const int fd = Connect(port);
  if (fd < 0) {
    return "";
  }
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string reply;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    ssize_t n = 0;
    if (::poll(&p, 1, timeout_ms) > 0 && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
      reply.assign(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

TEST(EdgeE2eTest, AtTheDescriptorLimitAcceptBacksOffAndNewClientsAreServed) {
  testing::TempDir dir;
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  Server server(dir.path() + "/data", "pop");  // inherits the lowered limit
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_FALSE(server.url().empty());
  const auto port =
      static_cast<uint16_t>(std::stoi(server.url().substr(server.url().rfind(':') + 1)));
  ASSERT_EQ(Healthz(port, 10'000), "HTTP/1.1 200 OK");

  // 100 connections that send nothing: more than the server has descriptors for; the rest
  // wait in the listen backlog.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = Connect(port);
    ASSERT_GE(fd, 0) << i;
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double cpu_before = CpuSeconds(server.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu = CpuSeconds(server.pid()) - cpu_before;
  EXPECT_LT(cpu, 0.5) << "the accept loop spins while out of descriptors";

  // A new client is served: the server closes idle connections to make room.
  EXPECT_EQ(Healthz(port, 30'000), "HTTP/1.1 200 OK");
  for (const int fd : idle) {
    ::close(fd);
  }
  // Once descriptors are free again, clients are served at once.
  EXPECT_EQ(Healthz(port, 10'000), "HTTP/1.1 200 OK");
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace flywheel::e2e
