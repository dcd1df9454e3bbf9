#include "stop_signal.h"

#include <cerrno>
#include <string>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace flywheel::cli {
namespace {

int stop_pipe[2] = {-1, -1};  // NOLINT: written once before any handler can run

void OnStopSignal(int signal_number) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal_number);
  (void)!::write(stop_pipe[1], &byte, 1);  // a full pipe already holds a stop request
  errno = saved;
}

}  // namespace

Status InstallStopSignals() {
  if (::pipe2(stop_pipe, O_CLOEXEC) != 0) {
    return Status::IoError("serve: pipe() failed: errno " + std::to_string(errno));
  }
  (void)::fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT}) {
    if (::sigaction(s, &action, nullptr) != 0) {
      return Status::IoError("serve: sigaction() failed: errno " + std::to_string(errno));
    }
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return Status::Ok();
}

int WaitForStopSignal() {
  // The calling thread unblocks the signals so that it can run the handler itself too.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  unsigned char byte = 0;
  while (true) {
    const ssize_t n = ::read(stop_pipe[0], &byte, 1);
    if (n == 1) {
      return byte;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return SIGTERM;  // the pipe broke: treat as a stop request
  }
}

}  // namespace flywheel::cli
