// flywheel_power_loss_bench: simulated power losses of an in-process engine on the
// fault-injecting Env (crash/power_loss.h says what each cycle does and checks).
//
//   flywheel_power_loss_bench --cycles 10000 --seed 1 --json /tmp/power_loss.json
//
// --unordered-dir-ops: a crash undoes any subset of the renames and removals not yet made durable
// by a directory sync (POSIX's weakest promise), not a suffix of them (journaling file systems).
//
// Exit 0 when every check passed, 1 when one failed (the report lists them), 2 on bad usage.
// Results: bench/results/crash.md.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "crash/power_loss.h"

namespace {

int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "%s\nusage: flywheel_power_loss_bench [--cycles N] [--seed S] [--cycles-per-dir N]\n"
               "  [--events-per-dir N] [--max-crash-operation N] [--work-dir DIR] [--json FILE]\n"
               "  [--unordered-dir-ops] [--verbose]\n",
               problem.c_str());
  return 2;
}

bool ParseInt(const std::string& text, long long min, long long* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  flywheel::bench::PowerLossOptions options;
  options.work_dir = "/tmp/flywheel-power-loss";
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--verbose") {
      options.verbose = true;
      continue;
    }
    if (flag == "--unordered-dir-ops") {
      options.dir_ops_in_order = false;
      continue;
    }
    if (i + 1 >= argc) {
      return Usage("flag " + flag + " needs a value (or is unknown)");
    }
    const std::string value = argv[++i];
    long long n = 0;
    if (flag == "--work-dir") {
      options.work_dir = value;
    } else if (flag == "--json") {
      json_path = value;
    } else if (flag != "--cycles" && flag != "--seed" && flag != "--cycles-per-dir" &&
               flag != "--events-per-dir" && flag != "--max-crash-operation") {
      return Usage("unknown flag " + flag);
    } else if (!ParseInt(value, flag == "--seed" ? 0 : 1, &n)) {
      return Usage("flag " + flag + ": not a valid number: " + value);
    } else if (flag == "--cycles") {
      options.cycles = static_cast<int>(n);
    } else if (flag == "--seed") {
      options.seed = static_cast<uint64_t>(n);
    } else if (flag == "--cycles-per-dir") {
      options.cycles_per_dir = static_cast<int>(n);
    } else if (flag == "--events-per-dir") {
      options.events_per_dir = static_cast<size_t>(n);
    } else {
      options.max_crash_operation = static_cast<int>(n);
    }
  }
  flywheel::bench::PowerLossBench bench(options);
  auto report = bench.Run();
  if (!report.ok()) {
    std::fprintf(stderr, "power-loss bench could not run: %s\n",
                 report.status().ToString().c_str());
    return 1;
  }
  const std::string text = report->ToJson();
  std::printf("%s\n", text.c_str());
  if (!json_path.empty()) {
    std::ofstream(json_path) << text << "\n";
  }
  return report->ok() ? 0 : 1;
}
