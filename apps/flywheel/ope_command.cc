// flywheel ope: off-policy evaluation of target policies on a data directory's logged
// impressions (doc/loop.md, section 7; doc/ope.md). Replays the directory read-only
// (flywheel::ReplayImpressions), then runs every estimator (src/eval/ope.h).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "flywheel/ope.h"

#include "commands.h"
#include "eval/ope.h"
#include "eval/ope_report.h"
#include "flags.h"
#include "server/serve_config.h"

namespace flywheel::cli {
namespace {

// The estimator options of the flags; kInvalidArgument naming the flag.
Result<eval::OpeOptions> ParseOpeOptions(const Flags& flags) {
  eval::OpeOptions options;
  FLYWHEEL_ASSIGN_OR_RETURN(options.weight_cap, flags.GetDouble("weight-cap"));
  if (!std::isfinite(options.weight_cap) || options.weight_cap < 1) {
    return Status::InvalidArgument("ope: --weight-cap must be a number >= 1");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const int64_t hit_k, flags.GetInt("hit-k"));
  if (hit_k < 1 || hit_k > 1000) {
    return Status::InvalidArgument("ope: --hit-k must be in [1, 1000]");
  }
  options.hit_k = static_cast<int>(hit_k);
  FLYWHEEL_ASSIGN_OR_RETURN(const int64_t folds, flags.GetInt("folds"));
  if (folds < 1 || folds > 20) {
    return Status::InvalidArgument("ope: --folds must be in [1, 20]");
  }
  options.folds = static_cast<int>(folds);
  return options;
}

// --config FILE: the server's configuration (doc/config.md) shapes the replay as it shaped the
// logging server: pipeline, loop (attribution window, reward weights), user history, event types.
Result<EngineOptions> EngineOptionsOf(const Flags& flags) {
  if (!flags.Has("config")) {
    return EngineOptions{};
  }
  server::ServeConfig config;
  FLYWHEEL_RETURN_IF_ERROR(config.MergeFile(flags.Get("config")));
  FLYWHEEL_RETURN_IF_ERROR(
      config.MergeText("data_dir", {flags.Get("data-dir")}, server::ConfigSource::kFlag));
  Result<server::ServeSettings> settings = config.Build();
  if (!settings.ok()) {
    return settings.status().WithPrefix("ope: --config");
  }
  return settings->engine;
}

Result<OpeReplayOptions> ParseReplayOptions(const Flags& flags) {
  OpeReplayOptions options;
  if (!flags.Has("data-dir")) {
    return Status::InvalidArgument("ope: --data-dir is required");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(options.engine, EngineOptionsOf(flags));
  options.engine.data_dir = flags.Get("data-dir");
  options.policies = flags.GetAll("policy");
  if (options.policies.empty()) {
    return Status::InvalidArgument("ope: --policy is required (e.g. --policy greedy)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<ModelSpec> models, ParseModelSpecs(flags));
  if (flags.Has("models")) {
    options.engine.models = std::move(models);
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const int64_t k, flags.GetInt("k"));
  if (k < 0 || k > 1000) {
    return Status::InvalidArgument("ope: --k must be in [0, 1000]");
  }
  options.k = static_cast<size_t>(k);
  FLYWHEEL_ASSIGN_OR_RETURN(const int64_t seed, flags.GetInt("seed"));
  options.seed = static_cast<uint64_t>(seed);
  return options;
}

Status RunOpe(const Flags& flags) {
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("ope: unexpected argument '" + flags.positional()[0] + "'");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(eval::OpeOptions options, ParseOpeOptions(flags));
  FLYWHEEL_ASSIGN_OR_RETURN(const OpeReplayOptions replay, ParseReplayOptions(flags));
  if (!flags.Has("weight-cap") && flags.Has("config")) {
    options.weight_cap = replay.engine.loop.weight_cap;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const OpeData data, ReplayImpressions(replay));
  const eval::OpeReport report = eval::EstimateOpe(data, options);
  std::printf(
      "ope: %s: %llu impressions replayed (seq %llu..%llu), %zu closed lists, %llu still "
      "open at the end of the log\n",
      replay.engine.data_dir.c_str(), static_cast<unsigned long long>(data.impressions),
      static_cast<unsigned long long>(data.first_seq),
      static_cast<unsigned long long>(data.last_seq), data.lists.size(),
      static_cast<unsigned long long>(data.unclosed));
  std::fputs(eval::OpeReportTable(report, options).c_str(), stdout);
  std::fflush(stdout);
  if (flags.Has("json")) {
    nlohmann::json doc = eval::OpeReportJson(report, data, options);
    doc["data_dir"] = replay.engine.data_dir;
    std::ofstream out(flags.Get("json"), std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out.good()) {
      return Status::IoError("ope: cannot write --json " + flags.Get("json"));
    }
  }
  return Status::Ok();
}

}  // namespace

int OpeMain(int argc, char** argv) {
  Flags flags(
      "ope",
      "Off-policy evaluation: replays a data directory's log read-only through fresh target "
      "models and estimates, from the logged impressions and their rewards, what each target "
      "policy would have earned (reward, clicks, click-through and HR@k per list) with the "
      "direct method, IPS, SNIPS, item-position IPS, DR and the pseudo-inverse estimator, each "
      "with a 95% interval (doc/ope.md). The logging policy's own mean is printed first.",
      {{"data-dir", "DIR", "the data directory (read only; may be in use by a server)", ""},
       {"policy", "SPEC",
        "target policy: <policy> or <model>:<policy>, e.g. greedy, epsilon:0.1, "
        "bpr:boltzmann:0.5 (repeatable)",
        "", true},
       {"models", "LIST", "the target models (default: the directory's models)", ""},
       {"config", "FILE",
        "the logging server's config file (doc/config.md): its pipeline, loop (attribution "
        "window, reward weights, weight cap), user history and event types shape the replay",
        ""},
       {"param", "MODEL.KEY=VALUE", "target model parameter", "", true},
       {"k", "K", "target list length (0: each logged list's length)", "0"},
       {"weight-cap", "W",
        "importance weights are capped at W (default: --config's loop.weight_cap)", "20"},
       {"hit-k", "K", "HR@K: a click at a position < K", "10"},
       {"folds", "N", "cross-fitting folds of the direct method's reward model", "2"},
       {"seed", "N", "seed of the target policies' sampling", "1"},
       {"json", "FILE", "also write the estimates as JSON (doc/ope.md)", ""}});
  return RunCommand(std::move(flags), argc, argv, RunOpe);
}

}  // namespace flywheel::cli
