// Crash tests of `flywheel ingest` (reliability guide 5.1): a driver starts the binary in a child
// process, SIGKILLs it at random moments while it acknowledges events, restarts it with every
// event not yet in the log (plus already-logged ones again, as a retrying client would send
// them), and checks after each kill that every acknowledged event is in the log exactly once.
//
// KillNineLoop runs a few cycles in the default suite; DISABLED_KillNineLoopSlow (50+ cycles) is
// registered as the ctest test crash_kill_loop_slow with the label `slow`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/log_reader.h"

namespace flywheel {
namespace {

using ::flywheel::testing::TempDir;

std::string EventLine(int i) {
  const int user = (i * 7919) % 97;
  const int item = (i * 104729 + user) % 211;
  return "{\"user\":\"u" + std::to_string(user) + "\",\"item\":\"i" + std::to_string(item) +
         "\",\"type\":\"" + (i % 5 == 0 ? "purchase" : "view") +
         "\",\"ts\":" + std::to_string(1700000000000LL + i * 1000LL) + ",\"id\":\"e" +
         std::to_string(i) + "\"}";
}

struct ChildRun {
  uint64_t acked = 0;      // highest {"acked_through": N} fully read
  bool killed = false;     // SIGKILLed by us (not exited)
  int exit_code = -1;      // when it exited by itself
  int64_t elapsed_ms = 0;  // start to exit or kill
  std::string output;      // stdout
};

// Runs `flywheel ingest ... input` and SIGKILLs it `kill_after_ms` after start, or as soon as it
// has printed `kill_after_acks` acknowledgement lines (either trigger; < 0 disables it).
ChildRun RunIngest(const std::vector<std::string>& args, int kill_after_ms,
                   int kill_after_acks = -1) {
  ChildRun run;
  int out[2];
  if (::pipe(out) != 0) {
    return run;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDERR_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (std::string& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ::execv(FLYWHEEL_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
  };
  char buf[4096];
  bool eof = false;
  while (!eof) {
    int timeout = 50;
    if (kill_after_ms >= 0 && !run.killed) {
      const auto left = kill_after_ms - elapsed_ms();
      if (left <= 0) {
        ::kill(pid, SIGKILL);
        run.killed = true;
        continue;
      }
      timeout = static_cast<int>(std::min<int64_t>(left, 50));
    }
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, timeout) > 0) {
      const ssize_t n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0) {
        eof = true;
      } else {
        run.output.append(buf, static_cast<size_t>(n));
        if (kill_after_acks >= 0 && !run.killed &&
            std::count(run.output.begin(), run.output.end(), '\n') >= kill_after_acks) {
          ::kill(pid, SIGKILL);  // right after an acknowledgement: mid-run, batches in flight
          run.killed = true;
        }
      }
    }
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.elapsed_ms = elapsed_ms();
  if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
    run.killed = false;  // it finished before the signal
  }
  // Only complete lines count as acknowledged (a line cut by the kill was never seen whole).
  size_t pos = 0;
  while (true) {
    const size_t nl = run.output.find('\n', pos);
    if (nl == std::string::npos) {
      break;
    }
    const std::string line = run.output.substr(pos, nl - pos);
    const std::string key = "{\"acked_through\": ";
    if (line.rfind(key, 0) == 0) {
      run.acked = std::max<uint64_t>(run.acked, std::stoull(line.substr(key.size())));
    }
    pos = nl + 1;
  }
  return run;
}

// The event log as (seq, id), read with the engine's own reader (a torn tail is cut).
std::vector<std::pair<uint64_t, std::string>> ReadLog(const std::string& data_dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  auto reader = wal::LogReader::Open(io::Env::Default(), data_dir + "/wal", wal::ReaderOptions{});
  EXPECT_OK(reader.status());
  if (!reader.ok()) {
    return out;
  }
  wal::LogRecord record;
  while (true) {
    auto more = (*reader)->Next(&record);
    EXPECT_OK(more.status());
    if (!more.ok() || !*more) {
      break;
    }
    out.emplace_back(record.seq, record.event.id);
  }
  return out;
}

void KillLoop(int cycles, int total_events, uint32_t seed) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  const std::string input = dir.path() + "/input.jsonl";
  std::mt19937 rng(seed);
  std::set<std::string> acked_ids;
  std::set<int> logged;  // event indices in the log
  int kills = 0;
  int kills_mid_ack = 0;  // killed after acknowledging at least one batch
  // Each cycle offers the events not yet logged up to a frontier that advances by `chunk`, so
  // every cycle has work; the kill time is drawn within the typical duration of a full run.
  const int chunk = total_events / std::max(1, cycles) + 1;
  for (int cycle = 0; cycle <= cycles; ++cycle) {
    const bool last = cycle == cycles;
    const int frontier = last ? total_events : std::min(total_events, (cycle + 1) * chunk);
    {
      std::ofstream out(input);
      // Retries of already-logged events first (idempotency), then everything not logged yet.
      std::vector<int> done(logged.begin(), logged.end());
      for (int r = 0; r < 50 && !done.empty(); ++r) {
        out << EventLine(done[rng() % done.size()]) << '\n';
      }
      for (int i = 0; i < frontier; ++i) {
        if (logged.count(i) == 0) {
          out << EventLine(i) << '\n';
        }
      }
    }
    const bool interval = cycle % 3 == 2;
    const std::vector<std::string> args = {"flywheel",      "ingest",
                                           "--data-dir",    data_dir,
                                           "--batch",       std::to_string(5 + rng() % 45),
                                           "--durability",  interval ? "interval:5" : "sync",
                                           "--models",      "pop,itemknn",
                                           "--no-snapshot", input};
    // Three kills in four come right after a random number of acknowledgements (while batches
    // are being written and synced); the others at a random time early in the run (start-up,
    // recovery, the first batches).
    const bool by_acks = rng() % 4 != 0;
    const int kill_after = last || by_acks ? -1 : static_cast<int>(rng() % 30);
    const int kill_acks = last || !by_acks ? -1 : static_cast<int>(1 + rng() % 8);
    ChildRun run = RunIngest(args, kill_after, kill_acks);
    if (last) {
      ASSERT_EQ(run.exit_code, 0) << run.output;
    }
    kills += run.killed ? 1 : 0;
    kills_mid_ack += run.killed && run.acked > 0 ? 1 : 0;
    const auto log = ReadLog(data_dir);
    std::printf(
        "cycle %d: %s after %lld ms (kill planned at %d), acked through %llu, log holds "
        "%zu events\n",
        cycle, run.killed ? "killed" : "exited", static_cast<long long>(run.elapsed_ms), kill_after,
        static_cast<unsigned long long>(run.acked), log.size());
    std::map<std::string, int> count;
    uint64_t expect_seq = 1;
    for (const auto& [seq, id] : log) {
      ASSERT_EQ(seq, expect_seq++) << "sequence gap in cycle " << cycle;
      ASSERT_EQ(++count[id], 1) << "event " << id << " logged twice (cycle " << cycle << ")";
    }
    ASSERT_GE(log.size(), run.acked) << "acknowledged through " << run.acked << " but the log "
                                     << "holds " << log.size() << " events (cycle " << cycle << ")";
    for (const std::string& id : acked_ids) {
      ASSERT_EQ(count[id], 1) << "acknowledged event " << id << " lost (cycle " << cycle << ")";
    }
    for (const auto& [seq, id] : log) {
      if (seq <= run.acked) {
        acked_ids.insert(id);
      }
      logged.insert(std::stoi(id.substr(1)));
    }
  }
  EXPECT_EQ(logged.size(), static_cast<size_t>(total_events));
  EXPECT_EQ(acked_ids.size(), static_cast<size_t>(total_events));
  EXPECT_GE(kills, cycles / 2) << "most cycles should have been killed mid-run";
  EXPECT_GE(kills_mid_ack, cycles / 3) << "too few kills while batches were acknowledged";
  std::printf("%d cycles: %d killed, %d of them after acknowledging batches\n", cycles, kills,
              kills_mid_ack);
}

TEST(CrashTest, KillNineLoop) {
  KillLoop(8, 3000, 1);
}

TEST(CrashTest, DISABLED_KillNineLoopSlow) {
  KillLoop(60, 20000, 2);
}

// Kill while snapshots are being written at random points: the directory must always recover,
// and what was acknowledged must still be there.
TEST(CrashTest, KillDuringSnapshots) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  const std::string input = dir.path() + "/input.jsonl";
  {
    std::ofstream out(input);
    for (int i = 0; i < 4000; ++i) {
      out << EventLine(i) << '\n';
    }
  }
  std::mt19937 rng(3);
  uint64_t acked = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    const std::vector<std::string> args = {
        "flywheel", "ingest",      "--data-dir",       data_dir, "--batch", "100",
        "--models", "pop,itemknn", "--snapshot-every", "300",    input};
    ChildRun run = RunIngest(args, -1, cycle == 5 ? -1 : static_cast<int>(1 + rng() % 30));
    acked = std::max(acked, run.acked);
    if (!io::Env::Default()->FileExists(data_dir + "/engine.json")) {
      // Killed before the directory was even created: nothing can have been acknowledged.
      EXPECT_EQ(acked, 0u);
      continue;
    }
    // Every restart recovers; the events are retried with their ids, so nothing repeats.
    ChildRun inspect = RunIngest({"flywheel", "inspect", "--data-dir", data_dir}, -1);
    ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
    const size_t at = inspect.output.find("\"last_seq\": ");
    ASSERT_NE(at, std::string::npos) << inspect.output;
    const uint64_t last_seq = std::stoull(inspect.output.substr(at + 12));
    EXPECT_GE(last_seq, acked) << "cycle " << cycle;
    EXPECT_LE(last_seq, 4000u) << "an event was applied twice (cycle " << cycle << ")";
  }
  EXPECT_EQ(acked, 4000u);
}

}  // namespace
}  // namespace flywheel
