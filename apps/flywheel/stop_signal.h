// Waiting for SIGTERM / SIGINT in `flywheel serve`. Blocking the signals and calling sigwait()
// is not enough: a thread started before main() keeps them unblocked (`serve` has one such
// thread, seen in /proc/PID/task/*/status: SigBlk 0, presumably OpenBLAS's pool), the kernel may
// deliver a process-directed SIGTERM to it, and the default action kills the process without
// the shutdown snapshot (LogsTest.TextFormatLevelsAndBadFlags saw a SIGTERM death in several of
// 20 runs with sigwait(), none in 20 with this handler). So a handler is installed for both
// signals: whichever thread runs it writes the signal number to a pipe (async-signal-safe), and
// the main thread reads it. Threads we start still have the signals blocked (InstallStopSignals
// blocks them in the calling thread; new threads inherit the mask).
//
// Thread safety: InstallStopSignals once, from main, before starting threads; WaitForStopSignal
// from one thread.
#pragma once

#include "flywheel/status.h"

namespace flywheel::cli {

Status InstallStopSignals();
// Blocks until SIGTERM or SIGINT arrived; returns it.
int WaitForStopSignal();

}  // namespace flywheel::cli
