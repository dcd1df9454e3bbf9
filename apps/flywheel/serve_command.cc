// flywheel serve: the HTTP server (doc/http_api.md) over an engine on a data directory.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <signal.h>

#include "flywheel/engine.h"

#include "commands.h"
#include "flags.h"
#include "server/api.h"
#include "server/http_server.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

// Optional JSON config: {"keys": {"read", "write", "admin"}, "durability", "snapshot_every",
// "threads", "max_body_bytes", "pipeline": {"candidates", "neighbour_seeds",
// "neighbours_per_seed", "trending_candidates", "content_candidates", "exploration",
// "new_item_window_hours", "exclude_categories": [...], "max_per_category"}}. Environment keys
// override the file's.
Status LoadConfig(const std::string& path, server::ApiKeys* keys, EngineOptions* engine,
                  server::ServerOptions* http) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound("serve: cannot read config " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  const json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("serve: config " + path + " is not a JSON object");
  }
  try {
    for (const auto& [key, value] : doc.items()) {
      if (key == "keys") {
        keys->read = value.value("read", "");
        keys->write = value.value("write", "");
        keys->admin = value.value("admin", "");
      } else if (key == "durability") {
        engine->durability = value.get<std::string>();
      } else if (key == "snapshot_every") {
        engine->snapshot_every = value.get<uint64_t>();
      } else if (key == "threads") {
        http->threads = value.get<int>();
      } else if (key == "max_body_bytes") {
        http->max_body_bytes = value.get<uint64_t>();
      } else if (key == "pipeline") {
        PipelineOptions& p = engine->pipeline;
        for (const auto& [name, v] : value.items()) {
          if (name == "candidates") {
            p.candidates = v.get<int>();
          } else if (name == "neighbour_seeds") {
            p.neighbour_seeds = v.get<int>();
          } else if (name == "neighbours_per_seed") {
            p.neighbours_per_seed = v.get<int>();
          } else if (name == "trending_candidates") {
            p.trending_candidates = v.get<int>();
          } else if (name == "content_candidates") {
            p.content_candidates = v.get<int>();
          } else if (name == "exploration") {
            p.exploration = v.get<double>();
          } else if (name == "new_item_window_hours") {
            p.new_item_window_ms = static_cast<int64_t>(v.get<double>() * 3600 * 1000);
          } else if (name == "exclude_categories") {
            p.exclude_categories = v.get<std::vector<std::string>>();
          } else if (name == "max_per_category") {
            p.max_per_category = v.get<int>();
          } else {
            return Status::InvalidArgument("serve: config: unknown field 'pipeline." + name + "'");
          }
        }
      } else {
        return Status::InvalidArgument("serve: config: unknown field '" + key + "'");
      }
    }
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("serve: config: ") + e.what());
  }
  return Status::Ok();
}

Status RunServe(const Flags& flags) {
  if (!flags.Has("data-dir")) {
    return Status::InvalidArgument("serve: --data-dir is required");
  }
  EngineOptions engine_options;
  engine_options.data_dir = flags.Get("data-dir");
  server::ServerOptions http;
  http.host = flags.Get("host");
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t port, flags.GetInt("port"));
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("--port must be in 0..65535");
  }
  http.port = static_cast<uint16_t>(port);
  server::ApiKeys keys;
  if (flags.Has("config")) {
    FLYWHEEL_RETURN_IF_ERROR(LoadConfig(flags.Get("config"), &keys, &engine_options, &http));
  }
  const server::ApiKeys env = server::ApiKeys::FromEnvironment();
  keys.read = env.read.empty() ? keys.read : env.read;
  keys.write = env.write.empty() ? keys.write : env.write;
  keys.admin = env.admin.empty() ? keys.admin : env.admin;
  if (flags.Has("durability")) {
    engine_options.durability = flags.Get("durability");
  }
  FLYWHEEL_RETURN_IF_ERROR(ParseRatingThreshold(flags, &engine_options.rating_threshold));
  if (!keys.any() && !IsLoopback(http.host)) {
    return Status::InvalidArgument(
        "serve: no API keys configured: refusing to listen on " + http.host +
        " (only loopback is allowed without keys; set FLYWHEEL_*_KEY or the config's keys)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(engine_options.models, ParseModelSpecs(flags));
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::Api api(keys, server::ApiLimits{});
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::unique_ptr<server::HttpServer> http_server,
      server::HttpServer::Start(http, [&api](const server::Request& r) { return api.Handle(r); }));
  // Recovery runs while /healthz answers and /readyz says "recovering".
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(engine_options));
  api.SetEngine(engine.get());
  const EngineStats s = engine->stats();
  std::printf("%s\n", json{{"msg", "listening"},
                           {"address", http_server->address()},
                           {"last_seq", s.last_seq},
                           {"recovered_snapshot_seq", s.recovered_snapshot_seq},
                           {"replayed_events", s.replayed_events},
                           {"auth", keys.any() ? "keys" : "none (loopback only)"}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "serve: signal %d: stopping\n", signal_number);
  http_server->Stop();
  api.SetEngine(nullptr);
  return engine->Close();
}

}  // namespace

int ServeMain(int argc, char** argv) {
  Flags flags(
      "serve",
      "Serves the HTTP API (doc/http_api.md) over a data directory. Prints one JSON line "
      "with the address once ready; stops cleanly (snapshot) on SIGINT/SIGTERM.",
      {{"data-dir", "DIR", "the data directory (created if missing)", ""},
       {"host", "H", "address to listen on (non-loopback needs API keys)", "127.0.0.1"},
       {"port", "P", "TCP port (0: any free port)", "8080"},
       {"config", "FILE", "JSON config: keys, durability, snapshot_every, threads, pipeline", ""},
       {"durability", "MODE", "sync | interval:<ms> (default sync)", ""},
       {"models", "LIST", "models for a new data directory (default pop)", ""},
       {"param", "MODEL.KEY=VALUE", "model hyper-parameter", "", true},
       RatingThresholdFlag()});
  return RunCommand(std::move(flags), argc, argv, RunServe);
}

}  // namespace flywheel::cli
