// flywheel_replay_bench: end-to-end, training-only online replay of a dataset through one model
// on one thread (db_bench style), for the speed of the learner path.
//
//   flywheel_replay_bench --dataset SPEC [--model bpr] [--param KEY=VALUE ...] [--passes N]
//
// Loads SPEC (movielens:DIR, synthetic:users=..,items=..,events=..,seed=.., ...; see
// `flywheel eval --help`) into memory, then replays its events in time order N times (default
// 1; later passes continue learning on the same model) exactly as the engine's learner does:
// Observe(event, user state before it), then UserState::Add. Nothing is recommended. Prints one
// JSON line: events, CPU and wall seconds, events per CPU second, CPU ns per event, the same for
// the UserState updates alone (a second replay without the model, to separate the harness
// share), and for bpr the row counts and bytes per row of its tables. Results and commands:
// bench/results/bpr.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <time.h>

#include "data/dataset.h"
#include "model/bpr.h"
#include "model/registry.h"
#include "model/user_state.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fw = flywheel;

struct Flags {
  std::string dataset;
  std::string model = "bpr";
  fw::model::ModelParams params;
  int passes = 1;
};

// Prints the error and the usage line; returns the exit status 2.
int Usage(const std::string& message) {
  std::fprintf(stderr,
               "error: %s\nusage: flywheel_replay_bench --dataset SPEC [--model NAME] "
               "[--param KEY=VALUE ...] [--passes N]\n",
               message.c_str());
  return 2;
}

// Fills *flags; an error message, or empty on success.
std::string ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) {
      return "missing value for " + std::string(name);
    }
    const std::string value = argv[++i];
    if (name == "--dataset") {
      flags->dataset = value;
    } else if (name == "--model") {
      flags->model = value;
    } else if (name == "--passes") {
      flags->passes = static_cast<int>(std::strtol(value.c_str(), nullptr, 10));
    } else if (name == "--param") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) {
        return "--param needs KEY=VALUE";
      }
      flags->params[value.substr(0, eq)] = value.substr(eq + 1);
    } else {
      return "unknown flag " + std::string(name);
    }
  }
  if (flags->dataset.empty() || flags->passes < 1) {
    return "--dataset is required and --passes must be >= 1";
  }
  return "";
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0;
  double cpu = 0;
};

// Replays `events` `passes` times; model may be null (user states only).
Timing Replay(const std::vector<fw::data::Interaction>& events, int passes,
              fw::model::Recommender* model) {
  fw::model::UserStateStore users;
  const double cpu_start = ThreadCpuSeconds();
  const auto start = Clock::now();
  for (int pass = 0; pass < passes; ++pass) {
    for (const fw::data::Interaction& event : events) {
      fw::model::UserState& state = users.Get(event.user);
      if (model != nullptr) {
        model->Observe(event, state);
      }
      state.Add(event);
    }
  }
  return {Seconds(start), ThreadCpuSeconds() - cpu_start};
}

void PrintBprMemory(const fw::model::Recommender& model) {
  const auto* bpr = dynamic_cast<const fw::model::Bpr*>(&model);
  if (bpr == nullptr) {
    return;
  }
  const fw::model::Bpr::Memory m = bpr->memory();
  std::printf(
      ",\"user_rows\":%zu,\"item_rows\":%zu,\"context_rows\":%zu,\"user_row_bytes\":%zu,"
      "\"item_row_bytes\":%zu,\"context_row_bytes\":%zu,\"tables_allocated_bytes\":%zu,"
      "\"per_item_array_bytes\":%zu,\"reservoir_bytes\":%zu,\"steps\":%llu",
      m.user_rows, m.item_rows, m.context_rows, m.user_row_bytes, m.item_row_bytes,
      m.context_row_bytes, m.tables_allocated, m.per_item_arrays, m.reservoir_bytes,
      static_cast<unsigned long long>(bpr->steps()));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (const std::string error = ParseFlags(argc, argv, &flags); !error.empty()) {
    return Usage(error);
  }
  auto dataset =
      fw::data::LoadDataset(flags.dataset, fw::EventTypeTable::Default(), fw::data::SkipPolicy{});
  if (!dataset.ok()) {
    return Usage(dataset.status().ToString());
  }
  auto model = fw::model::CreateRecommender(flags.model, flags.params);
  if (!model.ok()) {
    return Usage(model.status().ToString());
  }
  const auto& events = dataset->events;
  const Timing with_model = Replay(events, flags.passes, model->get());
  const Timing states_only = Replay(events, flags.passes, nullptr);
  const double n = static_cast<double>(events.size()) * flags.passes;
  // Rates use thread CPU time (one core's work; robust on a shared machine); wall_seconds is
  // printed beside it: a big gap means the thread was waiting for a core.
  std::printf(
      "{\"dataset\":\"%s\",\"model\":\"%s\",\"events\":%.0f,\"cpu_seconds\":%.3f,"
      "\"wall_seconds\":%.3f,\"events_per_cpu_s\":%.0f,\"cpu_ns_per_event\":%.1f,"
      "\"user_state_only_cpu_ns_per_event\":%.1f,\"model_only_events_per_cpu_s\":%.0f",
      flags.dataset.c_str(), flags.model.c_str(), n, with_model.cpu, with_model.wall,
      n / with_model.cpu, 1e9 * with_model.cpu / n, 1e9 * states_only.cpu / n,
      n / (with_model.cpu - states_only.cpu));
  PrintBprMemory(**model);
  std::printf("}\n");
  return 0;
}
