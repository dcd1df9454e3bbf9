// flywheel: one binary, subcommands. Thin: parses flags and calls the library.
//   flywheel eval --dataset KIND:PATH --protocol prequential|loo|temporal --models a,b ...
//   flywheel demo          the main job (until the server exists): baselines on the embedded
//                          synthetic stream, with a progress bar and an HTML report
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "flywheel/event_types.h"

#include "base/progress.h"
#include "base/strings.h"
#include "commands.h"
#include "data/dataset.h"
#include "data/event_json.h"
#include "eval/harness.h"
#include "eval/report_html.h"
#include "flags.h"
#include "model/registry.h"

namespace flywheel {
namespace {

constexpr const char* kDemoDataset =
    "synthetic:users=3000,items=4000,events=400000,seed=42,drift=0.5";

// Every model of the registry (model/registry.h), for the help text.
std::string ModelNames() {
  std::string out;
  for (const std::string& name : model::KnownModels()) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

std::vector<cli::FlagSpec> EvalFlagSpecs() {
  return {
      {"dataset", "KIND:PATH",
       "movielens:DIR, taobao:DIR|FILE, lastfm:DIR, seqfile:FILE, events:FILE.jsonl|.csv, or "
       "synthetic:users=N,items=M,events=E,seed=S",
       ""},
      {"protocol", "P", "prequential | loo | temporal", "prequential"},
      {"models", "LIST",
       "comma-separated models: " + ModelNames() + " (parameters: flywheel models)",
       "pop,recentpop,itemknn"},
      {"param", "MODEL.KEY=VALUE",
       "model parameter, e.g. itemknn.window=50 (all: flywheel models NAME)", "", true},
      {"k", "K", "list length K", "10"},
      {"warmup", "F", "prequential: fraction of stream time used for batch Fit, not scored", "0"},
      {"update", "LIST",
       "online | frozen | retrain:<period> (daily, 12h, ...); comma-separated runs each "
       "(default: online; temporal: frozen,online)",
       ""},
      {"positive", "FILTER", "events to predict: all | rating>=X | types:a,b (default: dataset's)",
       ""},
      {"include-seen", "", "score and recommend items the user already interacted with", ""},
      {"split", "Q", "temporal: timestamp quantile of the split", "0.8"},
      {"windows", "N", "prequential: points of the per-window series", "100"},
      {"event-types", "SPEC", "event type weights, e.g. view=0.5,purchase=8", ""},
      cli::RatingThresholdFlag(),
      {"skip-bad", "N", "skip up to N malformed input lines (counted) instead of failing", "0"},
      {"json", "FILE", "write the JSON result document here", ""},
      {"report", "FILE", "write the HTML report here", ""},
      {"raw-model", "",
       "prequential: drive the model alone (model::Recommender) instead of an engine and its "
       "serving pipeline (the default: the numbers `flywheel serve` users get)",
       ""},
      {"no-progress", "", "never draw progress bars", ""},
      {"no-timing", "", "omit wall-clock fields (for reproducible output)", ""},
      {"fit-cache", "DIR",
       "save each batch Fit's model state here and load it in later runs with the same data, "
       "model and pre-training parameters (online-only parameters may differ)",
       ""},
  };
}

Result<eval::EvalOptions> ParseEvalOptions(const cli::Flags& flags) {
  eval::EvalOptions options;
  FLYWHEEL_ASSIGN_OR_RETURN(options.protocol, eval::ParseProtocol(flags.Get("protocol")));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t k, flags.GetInt("k"));
  options.k = static_cast<int>(k);
  FLYWHEEL_ASSIGN_OR_RETURN(options.warmup, flags.GetDouble("warmup"));
  FLYWHEEL_ASSIGN_OR_RETURN(options.split, flags.GetDouble("split"));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t windows, flags.GetInt("windows"));
  if (windows < 1 || windows > 100000) {
    return Status::InvalidArgument("eval: --windows must be in [1, 100000]");
  }
  options.windows = static_cast<int>(windows);
  const std::string updates = flags.Get("update");
  for (std::string_view mode : base::Split(updates, ',')) {
    if (!base::Trim(mode).empty()) {
      FLYWHEEL_ASSIGN_OR_RETURN(eval::UpdateMode parsed, eval::UpdateMode::Parse(base::Trim(mode)));
      options.updates.push_back(parsed);
    }
  }
  options.positive = flags.Get("positive");
  options.exclude_seen = !flags.GetBool("include-seen");
  options.progress = !flags.GetBool("no-progress") && base::ProgressBar::StderrIsTty();
  options.timing = !flags.GetBool("no-timing");
  options.fit_cache = flags.Get("fit-cache");
  options.target =
      flags.GetBool("raw-model") ? eval::EvalTarget::kRawModel : eval::EvalTarget::kEngine;
  return options;
}

std::string FormatMetric(const nlohmann::json& value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", value.is_number() ? value.get<double>() : 0.0);
  return buf;
}

// One line per result: model, update, metrics, throughput.
void PrintSummary(const nlohmann::json& doc) {
  std::printf("%s  protocol=%s  k=%d  events=%lld  scored=%lld\n",
              doc["dataset"].get<std::string>().c_str(), doc["protocol"].get<std::string>().c_str(),
              doc["k"].get<int>(), static_cast<long long>(doc["events_total"].get<int64_t>()),
              static_cast<long long>(doc["events_scored"].get<int64_t>()));
  for (const auto& result : doc["results"]) {
    std::string line =
        result["model"].get<std::string>() + " [" + result["update"].get<std::string>() + "]";
    line.resize(std::max<size_t>(line.size() + 1, 28), ' ');
    for (const auto& [key, value] : result["metrics"].items()) {
      line += key + "=" + FormatMetric(value) + "  ";
    }
    if (result.contains("events_per_second")) {
      line +=
          "ev/s=" + std::to_string(static_cast<int64_t>(result["events_per_second"].get<double>()));
    }
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

Status WriteOutputs(const nlohmann::json& doc, const std::string& json_path,
                    const std::string& report_path) {
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << doc.dump(2) << "\n";
    if (!out.good()) {
      return Status::IoError("eval: cannot write '" + json_path + "'");
    }
  }
  if (!report_path.empty()) {
    FLYWHEEL_RETURN_IF_ERROR(eval::WriteHtmlReport(doc, report_path));
  }
  return Status::Ok();
}

Status RunEval(const cli::Flags& flags) {
  if (!flags.Has("dataset")) {
    return Status::InvalidArgument("eval: --dataset is required (see flywheel eval --help)");
  }
  if (!flags.positional().empty()) {
    return Status::InvalidArgument("eval: unexpected argument '" + flags.positional()[0] + "'");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable types, EventTypeTable::Parse(flags.Get("event-types")));
  double rating_threshold = EventTypeTable::kDefaultRatingThreshold;
  FLYWHEEL_RETURN_IF_ERROR(cli::ParseRatingThreshold(flags, &rating_threshold));
  FLYWHEEL_RETURN_IF_ERROR(types.set_rating_threshold(rating_threshold));
  FLYWHEEL_ASSIGN_OR_RETURN(eval::EvalOptions options, ParseEvalOptions(flags));
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<ModelSpec> specs, cli::ParseModelSpecs(flags));
  if (specs.empty()) {
    return Status::InvalidArgument("eval: --models is empty");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<eval::ModelEntry> models, eval::MakeModelEntries(specs));
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t skip, flags.GetInt("skip-bad"));
  data::SkipPolicy policy{skip};
  if (options.progress) {
    std::fprintf(stderr, "loading %s ...\n", flags.Get("dataset").c_str());
  }
  FLYWHEEL_ASSIGN_OR_RETURN(data::Dataset dataset,
                            data::LoadDataset(flags.Get("dataset"), types, policy));
  if (dataset.stats.skipped > 0) {
    std::fprintf(stderr, "warning: skipped %lld malformed lines (first: %s)\n",
                 static_cast<long long>(dataset.stats.skipped), dataset.stats.first_error.c_str());
  }
  for (const std::string& note : dataset.notes) {
    std::fprintf(stderr, "note: %s\n", note.c_str());
  }
  FLYWHEEL_ASSIGN_OR_RETURN(nlohmann::json doc, eval::RunEvaluation(dataset, models, options));
  doc["skipped_lines"] = dataset.stats.skipped;
  PrintSummary(doc);
  return WriteOutputs(doc, flags.Get("json"), flags.Get("report"));
}

int Fail(const Status& status) {
  std::fprintf(stderr, "flywheel: %s\n", status.message().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int EvalMain(int argc, char** argv) {
  cli::Flags flags("eval", "Evaluates models on a dataset under a protocol of evaluation.md.",
                   EvalFlagSpecs());
  if (Status status = flags.Parse(argc, argv, 2); !status.ok()) {
    return Fail(status);
  }
  if (flags.help()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  Status status = RunEval(flags);
  return status.ok() ? 0 : Fail(status);
}

int DemoMain(int argc, char** argv) {
  cli::Flags flags("demo",
                   "The main job: evaluates the baselines (prequential, online) on the embedded "
                   "synthetic stream and writes a JSON result and an HTML report.",
                   {{"dataset", "SPEC", "dataset to use", kDemoDataset},
                    {"out", "DIR", "output directory", "out/demo"}});
  if (Status status = flags.Parse(argc, argv, 2); !status.ok()) {
    return Fail(status);
  }
  if (flags.help()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  const std::string out = flags.Get("out");
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) {
    return Fail(Status::IoError("demo: cannot create '" + out + "': " + ec.message()));
  }
  std::vector<std::string> args = {"flywheel",   "eval",
                                   "--dataset",  flags.Get("dataset"),
                                   "--protocol", "prequential",
                                   "--models",   "pop,recentpop,itemknn",
                                   "--json",     out + "/result.json",
                                   "--report",   out + "/report.html"};
  std::vector<char*> ptrs;
  ptrs.reserve(args.size());
  for (auto& arg : args) {
    ptrs.push_back(arg.data());
  }
  const int rc = EvalMain(static_cast<int>(ptrs.size()), ptrs.data());
  if (rc == 0) {
    std::printf("report: %s/report.html\njson:   %s/result.json\n", out.c_str(), out.c_str());
  }
  return rc;
}

// Streams a dataset's events (in the reader's order) as event JSON Lines, or only counts them.
Status RunGenerate(const cli::Flags& flags) {
  if (!flags.Has("dataset")) {
    return Status::InvalidArgument(
        "generate: --dataset is required (see flywheel generate --help)");
  }
  const std::string format = flags.Get("format");
  if (format != "jsonl" && format != "none") {
    return Status::InvalidArgument("generate: --format must be jsonl or none");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(data::DatasetSpec spec, data::ParseDatasetSpec(flags.Get("dataset")));
  const EventTypeTable types = EventTypeTable::Default();
  FLYWHEEL_ASSIGN_OR_RETURN(auto reader, data::OpenReader(spec, types, data::SkipPolicy{}));
  base::ProgressBar progress("generate", -1, base::ProgressBar::StderrIsTty());
  const auto start = std::chrono::steady_clock::now();
  Event event;
  int64_t count = 0;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool more, reader->Next(&event));
    if (!more) {
      break;
    }
    ++count;
    if (format == "jsonl") {
      const std::string line = data::EventToJson(event);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    progress.Update(count);
  }
  progress.Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "generate: %lld events in %.2f s (%.0f events/s)\n",
               static_cast<long long>(count), seconds,
               seconds > 0 ? static_cast<double>(count) / seconds : 0.0);
  return Status::Ok();
}

int GenerateMain(int argc, char** argv) {
  cli::Flags flags(
      "generate",
      "Streams a dataset's events as event JSON Lines on stdout (constant memory), "
      "e.g. the synthetic stream for piping into other tools.",
      {{"dataset", "SPEC", "dataset spec, e.g. synthetic:users=1000,events=1000000", ""},
       {"format", "F", "jsonl, or none to only count (generation speed)", "jsonl"}});
  if (Status status = flags.Parse(argc, argv, 2); !status.ok()) {
    return Fail(status);
  }
  if (flags.help()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  Status status = RunGenerate(flags);
  return status.ok() ? 0 : Fail(status);
}

int Usage(FILE* out) {
  std::fputs(
      "usage: flywheel <command> [flags]\n\n"
      "Flywheel: a real-time recommendation engine that learns from every event.\n\n"
      "commands:\n"
      "  eval      evaluate models on a dataset (protocols prequential, loo, temporal)\n"
      "  demo      the main job: baselines on the embedded synthetic stream + HTML report\n"
      "  generate  stream a dataset (e.g. the synthetic generator) as event JSON Lines\n"
      "  ingest    append events durably to a data directory and learn from them\n"
      "  inspect   print a JSON summary of a data directory\n"
      "  snapshot  write a snapshot of a data directory's learned state\n"
      "  pretrain  batch pre-train a model on a data directory's log (then online)\n"
      "  serve     the HTTP API over a data directory (doc/http_api.md)\n"
      "  replay    replay a dataset through a running server, live HR@K (doc/replay.md)\n"
      "  import-items  import a catalogue (CSV or JSON Lines) into a server or data directory\n"
      "  backup    a consistent copy of a (live) data directory (doc/operations.md)\n"
      "  repair    recover a damaged data directory into a new one, listing what was lost\n"
      "  ope       off-policy evaluation of target policies on the logged impressions\n"
      "  simulate  play simulated users against a server: reward, CTR, regret (simulate.md)\n"
      "  models    list the models and their parameters (--markdown: doc/params.md tables)\n"
      "  version   print the version\n\n"
      "Run 'flywheel <command> --help' for the flags of a command.\n",
      out);
  return out == stdout ? 0 : 2;
}

}  // namespace
}  // namespace flywheel

int main(int argc, char** argv) {
  using namespace flywheel;  // NOLINT(google-build-using-namespace)
  if (argc < 2) {
    return Usage(stderr);
  }
  const std::string command = argv[1];
  try {
    if (command == "eval") {
      return EvalMain(argc, argv);
    }
    if (command == "demo") {
      return DemoMain(argc, argv);
    }
    if (command == "generate") {
      return GenerateMain(argc, argv);
    }
    if (command == "ingest") {
      return cli::IngestMain(argc, argv);
    }
    if (command == "inspect") {
      return cli::InspectMain(argc, argv);
    }
    if (command == "snapshot") {
      return cli::SnapshotMain(argc, argv);
    }
    if (command == "pretrain") {
      return cli::PretrainMain(argc, argv);
    }
    if (command == "serve") {
      return cli::ServeMain(argc, argv);
    }
    if (command == "replay") {
      return cli::ReplayMain(argc, argv);
    }
    if (command == "import-items") {
      return cli::ImportItemsMain(argc, argv);
    }
    if (command == "backup") {
      return cli::BackupMain(argc, argv);
    }
    if (command == "models") {
      return cli::ModelsMain(argc, argv);
    }
    if (command == "repair") {
      return cli::RepairMain(argc, argv);
    }
    if (command == "ope") {
      return cli::OpeMain(argc, argv);
    }
    if (command == "simulate") {
      return cli::SimulateMain(argc, argv);
    }
    if (command == "version" || command == "--version") {
      std::printf("flywheel 0.1.0\n");
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      return Usage(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flywheel: internal error: %s\n", e.what());
    return 1;
  }
  std::fprintf(
      stderr,
      "flywheel: unknown command '%s' (commands: eval, demo, generate, ingest, inspect, "
      "snapshot, pretrain, serve, replay, import-items, backup, repair, ope, simulate, models, "
      "version; see flywheel --help)\n",
      command.c_str());
  return 2;
}
