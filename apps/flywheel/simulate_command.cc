// flywheel simulate: the user simulator of doc/simulate.md against a server (--url) or an
// in-process engine (--in-process), with a per-day report on stdout and in --json.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "flywheel/event_types.h"

#include "base/strings.h"
#include "base/time_util.h"
#include "commands.h"
#include "flags.h"
#include "server/serve_config.h"
#include "sim/engine_target.h"
#include "sim/http_target.h"
#include "sim/simulator.h"
#include "sim/taste_fit.h"

namespace flywheel::cli {
namespace {

std::vector<FlagSpec> SimulateFlags() {
  return {
      {"url", "URL", "a running `flywheel serve` (http://host:port)", ""},
      {"token", "TOKEN", "API key sent as a bearer token (--url)", ""},
      {"in-process", "", "simulate against an engine in this process instead of --url", ""},
      {"models", "LIST", "--in-process: the engine's models (default pop)", ""},
      {"param", "MODEL.KEY=VALUE", "--in-process: a model parameter", "", true},
      {"data-dir", "DIR", "--in-process: a new data directory, kept (default: temporary)", ""},
      {"config", "FILE",
       "--in-process: a server config file (doc/config.md) for the engine (pipeline, loop...); "
       "--models, --param and --loop override it",
       ""},
      {"loop", "KEY=VALUE",
       "--in-process: an impression/policy option of doc/loop.md (policy, seed, "
       "learn_from_impressions, negative_weight, position_bias, attribution_window_ms, "
       "default_reward, reward_weights, weight_cap, experiment_salt, served_cache)",
       "", true},
      {"users", "N", "simulated users", "1000"},
      {"items", "N", "items in the catalogue on day 1", "1000"},
      {"days", "N", "simulated days", "7"},
      {"requests-per-day", "R", "mean recommendation requests per simulated day (Poisson)", "1000"},
      {"k", "K", "items per list", "10"},
      {"policy", "SPEC",
       "exploration policy sent with each request (greedy, epsilon:E, boltzmann:T, thompson:S, "
       "reward...; empty: the server's); oracle: the simulator's own oracle lists",
       ""},
      {"seed", "S", "random seed (same seed, same report)", "1"},
      {"examination", "MODEL", "pbm (position-based) | cascade", "pbm"},
      {"eta", "X", "pbm: P(examine position p) = 1/(1+p)^X", "1"},
      {"new-items-per-day", "N|P%",
       "new items every simulated day: a count, or a percentage of the day-1 catalogue", "0"},
      {"tastes-from", "DATASET",
       "semi-synthetic tastes fitted on a dataset (e.g. movielens:../shared/datasets/ml-100k)", ""},
      {"warmup-clicks", "N", "organic clicks per user on the day before day 1", "5"},
      {"start", "TIME", "simulated time of day 1 (ISO-8601)", "2025-01-01T00:00:00Z"},
      {"dim", "D", "latent dimensions", "16"},
      {"click-scale", "A", "click probability sigmoid(A * <u,v> + B)", "1.5"},
      {"click-bias", "B", "see --click-scale", "-4"},
      {"buy-prob", "P", "P(purchase | click)", "0.1"},
      {"fatigue", "F", "click probability factor per earlier showing of the item to the user",
       "0.85"},
      {"drift", "X", "taste random-walk step per simulated day", "0.05"},
      {"no-impressions", "",
       "record no impressions (lists not posted, events without recommendation_id): the "
       "baseline of the loop's overhead",
       ""},
      {"counterfactual", "[MODEL:]POLICY",
       "at every request also fetch this target's list (not shown, not recorded) and report "
       "its expected reward under the true model: the truth of `flywheel ope`",
       "", true},
      {"record-in-call", "",
       "--url: record each impression in its list request (record_impression=true) instead of "
       "posting it to /v1/impressions when shown",
       ""},
      {"json", "FILE", "write the report as JSON here", ""},
      {"no-timing", "", "omit wall-clock fields (reproducible output)", ""},
  };
}

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

Result<int64_t> IntIn(const Flags& flags, const char* name, int64_t lo, int64_t hi) {
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t value, flags.GetInt(name));
  if (value < lo || value > hi) {
    return Status::InvalidArgument("simulate: --" + std::string(name) + " must be in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

Result<double> DoubleIn(const Flags& flags, const char* name, double lo, double hi) {
  FLYWHEEL_ASSIGN_OR_RETURN(double value, flags.GetDouble(name));
  if (!(value >= lo && value <= hi)) {
    return Status::InvalidArgument("simulate: --" + std::string(name) + " must be in [" + Num(lo) +
                                   ", " + Num(hi) + "]");
  }
  return value;
}

Result<sim::WorldOptions> ParseWorld(const Flags& flags) {
  sim::WorldOptions w;
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t users, IntIn(flags, "users", 1, 10'000'000));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t items, IntIn(flags, "items", 1, 10'000'000));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t dim, IntIn(flags, "dim", 1, 512));
  w.users = static_cast<int>(users);
  w.items = static_cast<int>(items);
  w.dim = static_cast<int>(dim);
  if (!sim::ParseExamination(flags.Get("examination"), &w.examination)) {
    return Status::InvalidArgument("simulate: --examination must be pbm or cascade");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(w.eta, DoubleIn(flags, "eta", 0, 10));
  FLYWHEEL_ASSIGN_OR_RETURN(w.click_scale, DoubleIn(flags, "click-scale", 0, 100));
  FLYWHEEL_ASSIGN_OR_RETURN(w.click_bias, DoubleIn(flags, "click-bias", -100, 100));
  FLYWHEEL_ASSIGN_OR_RETURN(w.buy_prob, DoubleIn(flags, "buy-prob", 0, 1));
  FLYWHEEL_ASSIGN_OR_RETURN(w.fatigue, DoubleIn(flags, "fatigue", 0, 1));
  FLYWHEEL_ASSIGN_OR_RETURN(w.drift, DoubleIn(flags, "drift", 0, 10));
  return w;
}

// "N" or "P%" of the day-1 catalogue.
Result<int> ParseNewItems(const std::string& text, int catalogue) {
  const bool percent = !text.empty() && text.back() == '%';
  auto value = base::ParseDouble(percent ? text.substr(0, text.size() - 1) : text);
  if (!value.ok() || !(*value >= 0) || (!percent && *value != std::floor(*value)) || *value > 1e7) {
    return Status::InvalidArgument(
        "simulate: --new-items-per-day must be a count or a percentage (e.g. 50 or 10%)");
  }
  const double count = percent ? std::round(*value / 100.0 * catalogue) : *value;
  return static_cast<int>(count);
}

Result<sim::SimOptions> ParseSimOptions(const Flags& flags, int catalogue) {
  sim::SimOptions o;
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t days, IntIn(flags, "days", 1, 3650));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t k, IntIn(flags, "k", 1, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t warmup, IntIn(flags, "warmup-clicks", 0, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(o.requests_per_day, DoubleIn(flags, "requests-per-day", 1e-3, 1e8));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t seed, flags.GetInt("seed"));
  FLYWHEEL_ASSIGN_OR_RETURN(o.start_ms, base::ParseIso8601(flags.Get("start")));
  FLYWHEEL_ASSIGN_OR_RETURN(o.new_items_per_day,
                            ParseNewItems(flags.Get("new-items-per-day"), catalogue));
  o.days = static_cast<int>(days);
  o.k = static_cast<int>(k);
  o.warmup_clicks = static_cast<int>(warmup);
  o.seed = static_cast<uint64_t>(seed);
  o.policy = flags.Get("policy");
  o.record_impressions = !flags.GetBool("no-impressions");
  o.record_in_call = flags.GetBool("record-in-call");
  for (const std::string& spec : flags.GetAll("counterfactual")) {
    FLYWHEEL_ASSIGN_OR_RETURN(sim::CounterfactualTarget target, sim::ParseCounterfactual(spec));
    o.counterfactuals.push_back(std::move(target));
  }
  const EventTypeTable types = EventTypeTable::Default();
  o.click_weight = types.Weight(*types.Find("click"), 1.0);
  o.purchase_weight = types.Weight(*types.Find("purchase"), 1.0);
  return o;
}

Status SetLoopOption(const std::string& entry, LoopOptions* loop) {
  const size_t eq = entry.find('=');
  if (eq == std::string::npos) {
    return Status::InvalidArgument("simulate: --loop wants KEY=VALUE, got '" + entry + "'");
  }
  const std::string key = entry.substr(0, eq);
  const std::string value = entry.substr(eq + 1);
  auto number = base::ParseDouble(value);
  auto need_number = [&]() -> Status {
    return number.ok() ? Status::Ok()
                       : Status::InvalidArgument("simulate: --loop " + key + ": not a number");
  };
  if (key == "policy") {
    loop->policy = value;
  } else if (key == "experiment_salt") {
    loop->experiment_salt = value;
  } else if (key == "reward_weights") {
    loop->reward_weights = value;
  } else if (key == "position_bias") {
    loop->position_bias = value;
  } else if (key == "learn_from_impressions") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("simulate: --loop learn_from_impressions: true or false");
    }
    loop->learn_from_impressions = value == "true";
  } else if (key == "seed" || key == "attribution_window_ms" || key == "served_cache") {
    FLYWHEEL_RETURN_IF_ERROR(need_number());
    if (*number < 0 || *number > 9e15 || *number != std::floor(*number)) {
      return Status::InvalidArgument("simulate: --loop " + key + ": a non-negative integer");
    }
    const auto n = static_cast<int64_t>(*number);
    if (key == "seed") {
      loop->seed = static_cast<uint64_t>(n);
    } else if (key == "served_cache") {
      loop->served_cache = static_cast<size_t>(n);
    } else {
      loop->attribution_window_ms = n;
    }
  } else if (key == "default_reward" || key == "negative_weight" || key == "weight_cap") {
    FLYWHEEL_RETURN_IF_ERROR(need_number());
    double* field = key == "default_reward"    ? &loop->default_reward
                    : key == "negative_weight" ? &loop->negative_weight
                                               : &loop->weight_cap;
    *field = *number;
  } else {
    return Status::InvalidArgument("simulate: --loop: unknown key '" + key + "'");
  }
  return Status::Ok();
}

// --config FILE: the in-process engine configured as a server would be (doc/config.md).
Result<EngineOptions> ConfigOptions(const Flags& flags) {
  if (!flags.Has("config")) {
    return EngineOptions{};
  }
  server::ServeConfig config;
  FLYWHEEL_RETURN_IF_ERROR(config.MergeFile(flags.Get("config")));
  FLYWHEEL_RETURN_IF_ERROR(config.MergeText("data_dir", {"simulate"}, server::ConfigSource::kFlag));
  Result<server::ServeSettings> settings = config.Build();
  if (!settings.ok()) {
    return settings.status().WithPrefix("simulate: --config");
  }
  return settings->engine;
}

Result<std::unique_ptr<sim::SimTarget>> OpenTarget(const Flags& flags, uint64_t seed) {
  const bool in_process = flags.GetBool("in-process");
  if (in_process == flags.Has("url")) {
    return Status::InvalidArgument("simulate: give exactly one of --url and --in-process");
  }
  if (!in_process) {
    for (const char* name : {"models", "param", "data-dir", "loop", "config"}) {
      if (flags.Has(name)) {
        return Status::InvalidArgument("simulate: --" + std::string(name) +
                                       " needs --in-process (a server has its own configuration)");
      }
    }
    FLYWHEEL_ASSIGN_OR_RETURN(auto target,
                              sim::HttpTarget::Open(flags.Get("url"), flags.Get("token")));
    return std::unique_ptr<sim::SimTarget>(std::move(target));
  }
  if (flags.Has("token")) {
    return Status::InvalidArgument("simulate: --token needs --url");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(EngineOptions options, ConfigOptions(flags));
  options.data_dir = flags.Get("data-dir");
  std::error_code ec;
  if (!options.data_dir.empty() && std::filesystem::exists(options.data_dir, ec) &&
      !std::filesystem::is_empty(options.data_dir, ec)) {
    return Status::InvalidArgument("simulate: --data-dir " + options.data_dir +
                                   " is not empty (a simulation starts from a new directory)");
  }
  options.durability = "interval:1000";
  if (flags.Has("models") || !flags.Has("config")) {
    FLYWHEEL_ASSIGN_OR_RETURN(options.models, ParseModelSpecs(flags));
  }
  options.loop.seed = seed;  // reproducible recommendation ids and policy draws
  for (const std::string& entry : flags.GetAll("loop")) {
    FLYWHEEL_RETURN_IF_ERROR(SetLoopOption(entry, &options.loop));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(auto target, sim::EngineTarget::Open(options));
  return std::unique_ptr<sim::SimTarget>(std::move(target));
}

Result<sim::World> MakeWorld(const Flags& flags, const sim::WorldOptions& world, uint64_t seed) {
  if (!flags.Has("tastes-from")) {
    return sim::World::Synthetic(world, seed);
  }
  sim::TasteFitOptions fit;
  fit.dataset = flags.Get("tastes-from");
  fit.max_users = flags.Has("users") ? world.users : 0;
  fit.max_items = flags.Has("items") ? world.items : 0;
  fit.seed = seed;
  return sim::FitWorld(fit, world);
}

Status RunSimulate(const Flags& flags) {
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("simulate: unexpected argument '" + flags.positional()[0] + "'");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(sim::WorldOptions world_options, ParseWorld(flags));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t seed, flags.GetInt("seed"));
  FLYWHEEL_ASSIGN_OR_RETURN(sim::World world,
                            MakeWorld(flags, world_options, static_cast<uint64_t>(seed)));
  FLYWHEEL_ASSIGN_OR_RETURN(sim::SimOptions options, ParseSimOptions(flags, world.num_items()));
  if (flags.Has("url")) {
    // The server refuses event times more than a day ahead of its clock.
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (options.start_ms + sim::kDayMs * options.days > now + sim::kDayMs / 2) {
      return Status::InvalidArgument(
          "simulate: the simulated days would run past the server's clock (events more than a "
          "day ahead are refused): start earlier with --start");
    }
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<sim::SimTarget> target,
                            OpenTarget(flags, static_cast<uint64_t>(seed)));
  sim::Simulator simulator(options, std::move(world), target.get());
  FLYWHEEL_ASSIGN_OR_RETURN(sim::Report report, simulator.Run());
  if (auto* engine = dynamic_cast<sim::EngineTarget*>(target.get()); engine != nullptr) {
    FLYWHEEL_RETURN_IF_ERROR(engine->Close());
  }
  std::printf("simulate: %s\n%s", report.target.value("describe", "").c_str(),
              report.Table().c_str());
  std::fflush(stdout);
  const std::string json_path = flags.Get("json");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << report.ToJson(!flags.GetBool("no-timing")).dump(2) << "\n";
    if (!out.good()) {
      return Status::IoError("simulate: cannot write '" + json_path + "'");
    }
  }
  return Status::Ok();
}

}  // namespace

int SimulateMain(int argc, char** argv) {
  Flags flags("simulate",
              "Plays simulated users against a server (--url) or an in-process engine: they ask "
              "for lists, examine and click by ground-truth tastes, and the report gives reward, "
              "click-through, coverage, new-item time to first click and regret against an "
              "oracle per simulated day (doc/simulate.md).",
              SimulateFlags());
  return RunCommand(std::move(flags), argc, argv, RunSimulate);
}

}  // namespace flywheel::cli
