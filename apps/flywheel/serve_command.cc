// flywheel serve: the HTTP server (doc/http_api.md) over an engine on a data directory.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <malloc.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "flywheel/engine.h"

#include "commands.h"
#include "flags.h"
#include "log_setup.h"
#include "serve_stream.h"
#include "server/access_log.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/serve_config.h"
#include "stop_signal.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

// Every key's value: default < --config file < environment < flags (server/serve_config.h).
Result<server::ServeConfig> LoadServeConfig(const Flags& flags) {
  server::ServeConfig config;
  if (flags.Has("config")) {
    FLYWHEEL_RETURN_IF_ERROR(config.MergeFile(flags.Get("config")));
  }
  FLYWHEEL_RETURN_IF_ERROR(config.MergeEnvironment([](std::string_view name) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start, before any thread
    const char* v = std::getenv(std::string(name).c_str());
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  }));
  for (const server::ConfigKeySpec& spec : server::ServeConfigKeys()) {
    const std::string flag(spec.flag);
    if (!flag.empty() && flags.Has(flag)) {
      const std::vector<std::string> values = spec.type == server::ConfigType::kBool
                                                  ? std::vector<std::string>{"true"}
                                                  : flags.GetAll(flag);
      Status st = config.MergeText(spec.path, values, server::ConfigSource::kFlag);
      FLYWHEEL_RETURN_IF_ERROR(st.WithPrefix("serve: --" + flag));
    }
  }
  return config;
}

Status UpdateConfigDoc(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::IoError("serve: cannot read '" + path + "'");
  }
  std::stringstream text;
  text << in.rdbuf();
  FLYWHEEL_ASSIGN_OR_RETURN(std::string doc, server::RegenerateConfigDoc(text.str()));
  std::ofstream out(path, std::ios::trunc);
  out << doc;
  if (!out.good()) {
    return Status::IoError("serve: cannot write '" + path + "'");
  }
  std::printf("updated %s\n", path.c_str());
  return Status::Ok();
}

// The HTTP handler: the Api, timed into the access log when there is one.
server::Handler HandlerFor(server::Api* api, const server::AccessLog* access) {
  if (access == nullptr) {
    return [api](const server::Request& r) { return api->Handle(r); };
  }
  return [api, access](const server::Request& r) {
    const auto start = std::chrono::steady_clock::now();
    server::Response res = api->Handle(r);
    access->Record(
        r, res,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    return res;
  };
}

// Requests refused from their header (auth, rate limits) are logged like the others.
server::Admit AdmitFor(server::Api* api, const server::AccessLog* access) {
  return [api, access](const server::RequestHeader& header, const server::Peer& peer) {
    const auto start = std::chrono::steady_clock::now();
    server::Admission admission = api->Admit(header, peer);
    if (access != nullptr && admission.reject) {
      access->Record(
          server::Request(header), *admission.reject,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    return admission;
  };
}

void LogReady(base::Logger* log, const EngineStats& s, const std::string& address, bool keys) {
  for (const std::string& m : s.recovery_messages) {
    log->Log(base::LogLevel::kWarn, "recovery", {{"detail", m}});
  }
  // The recovery report in one line (doc/operations.md, "Recovery report"): a warning when
  // anything was cut, skipped or refused.
  const RecoveryReport& r = s.recovery;
  const bool damage = r.torn_tail || !r.skipped.empty() || !r.snapshots_refused.empty();
  log->Log(damage ? base::LogLevel::kWarn : base::LogLevel::kInfo, "recovered",
           {{"snapshot_seq", r.snapshot_seq},
            {"replayed_events", r.replayed_events},
            {"segments", r.segments},
            {"torn_tail_bytes", r.torn_tail_bytes},
            {"torn_tail_file", r.torn_tail_file},
            {"skipped_spans", r.skipped.size()},
            {"skipped_bytes", r.skipped_bytes},
            {"lost_events", r.lost_events},
            {"snapshots_refused", r.snapshots_refused.size()}});
  log->Log(base::LogLevel::kInfo, "listening",
           {{"address", address},
            {"last_seq", s.last_seq},
            {"recovered_snapshot_seq", s.recovered_snapshot_seq},
            {"replayed_events", s.replayed_events},
            {"recovery_seconds", s.recovery_seconds},
            {"auth", keys ? "keys" : "none (loopback only)"}});
}

// Engine::Open; on a full disk the error says how to serve reads anyway.
Result<std::unique_ptr<Engine>> OpenEngine(const EngineOptions& options) {
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  if (!engine.ok() && engine.status().code() == StatusCode::kResourceExhausted) {
    return Status(engine.status().code(),
                  engine.status().message() +
                      " (the disk is full: free space, or start with --read-only to serve "
                      "reads without writing anything)");
  }
  return engine;
}

// Engine::Close (the learner drains, a snapshot is written, the log synced), logged.
Status CloseEngine(base::Logger* log, Engine* engine) {
  Status closed = engine->Close();
  const EngineStats s = engine->stats();
  if (!closed.ok()) {
    log->Log(base::LogLevel::kError, "stopped", {{"error", closed.message()}});
    return closed;
  }
  log->Log(
      base::LogLevel::kInfo, "stopped",
      {{"last_seq", s.last_seq}, {"applied_seq", s.applied_seq}, {"snapshot_seq", s.snapshot_seq}});
  return closed;
}

Status RunServe(const Flags& flags) {
  if (flags.Has("update-config-doc")) {
    return UpdateConfigDoc(flags.Get("update-config-doc"));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(server::ServeConfig config, LoadServeConfig(flags));
  Result<server::ServeSettings> settings = config.Build();
  if (flags.GetBool("check-config")) {
    std::fputs(config.Describe().c_str(), stdout);
    if (!settings.ok()) {
      return settings.status().WithPrefix("serve: config");
    }
    std::printf("config OK\n");
    return Status::Ok();
  }
  if (!settings.ok()) {
    return settings.status().WithPrefix("serve: config");
  }
  const server::ApiKeys keys = settings->keys;
  const server::ServerOptions http = settings->http;
  const EngineOptions engine_options = settings->engine;
  // Request bodies (up to max_body_bytes) are large allocations. glibc raises its mmap threshold
  // each time an mmapped block is freed, after which such bodies come from the heap and stay
  // resident once their connections closed (issue 17: 994 MB kept after 128 connections). A
  // fixed threshold keeps every block >= 1 MiB mmapped: its memory goes back on free.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): before the server's threads start; none allocates yet.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // The stop signals reach WaitForStopSignal below, whichever thread receives them.
  FLYWHEEL_RETURN_IF_ERROR(InstallStopSignals());

  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<base::Logger> log, MakeLogger(flags));
  server::Api api(keys, settings->api);
  const server::AccessLog access(log.get(), &keys);
  const server::AccessLog* access_log = flags.GetBool("access-log") ? &access : nullptr;
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::unique_ptr<server::HttpServer> http_server,
      server::HttpServer::Start(http, HandlerFor(&api, access_log), AdmitFor(&api, access_log)));
  // Recovery runs while /healthz answers and /readyz says "recovering".
  log->Log(base::LogLevel::kInfo, "recovering", {{"data_dir", engine_options.data_dir}});
  FLYWHEEL_ASSIGN_OR_RETURN(std::string bootstrapped,
                            BootstrapIfNew(settings->stream, engine_options.data_dir));
  if (!bootstrapped.empty()) {
    log->Log(base::LogLevel::kInfo, "bootstrapped", {{"detail", bootstrapped}});
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenEngine(engine_options));
  Result<ServeStream> stream =
      StartServeStream(settings->stream, engine_options.data_dir, engine.get());
  if (!stream.ok()) {
    http_server->Stop();
    (void)CloseEngine(log.get(), engine.get());
    return stream.status();
  }
  api.SetReplication(stream->producer.get(), stream->view.get(), stream->bootstrap.get());
  api.SetEngine(engine.get());
  api.StartHistorySampler();
  const EngineStats s = engine->stats();
  LogReady(log.get(), s, http_server->address(), keys.any());
  std::printf("%s\n", json{{"msg", "listening"},
                           {"address", http_server->address()},
                           {"last_seq", s.last_seq},
                           {"recovered_snapshot_seq", s.recovered_snapshot_seq},
                           {"replayed_events", s.replayed_events},
                           {"auth", keys.any() ? "keys" : "none (loopback only)"},
                           {"role", settings->stream.role}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
  const int signal_number = WaitForStopSignal();
  log->Log(base::LogLevel::kInfo, "stopping",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  http_server->Stop();
  stream->Stop();
  api.StopHistorySampler();
  api.SetReplication(nullptr, nullptr);
  api.SetEngine(nullptr);
  return CloseEngine(log.get(), engine.get());
}

}  // namespace

int ServeMain(int argc, char** argv) {
  std::vector<FlagSpec> specs = {
      {"data-dir", "DIR", "the data directory (created if missing; config key data_dir)", ""},
      {"host", "H", "address to listen on (non-loopback needs API keys)", "127.0.0.1"},
      {"port", "P", "TCP port (0: any free port)", "8080"},
      {"config", "FILE", "JSON config file, every key in doc/config.md; unknown keys are errors",
       ""},
      {"check-config", "",
       "validate the configuration, print every key with its value and source, exit 0 (valid) "
       "or 1; opens nothing",
       ""},
      {"durability", "MODE", "sync | interval:<ms>", "sync"},
      {"skip-corruption", "",
       "start past damaged log spans, losing their events (named in the recovery report; "
       "config key skip_corruption)",
       ""},
      {"read-only", "",
       "serve reads only, writing nothing (starts on a full disk; writes get 503; config key "
       "read_only)",
       ""},
      {"rate-limit-key", "RPS",
       "requests per second per API key, 429 + Retry-After beyond (config rate_limit.key_rps; "
       "0: none)",
       "0"},
      {"rate-limit-ip", "RPS",
       "requests per second per client address without a valid key, loopback exempt (config "
       "rate_limit.ip_rps; 0: none)",
       "50"},
      {"event-types", "SPEC", "event type weights on top of the defaults, e.g. wishlist=2,view=0.3",
       ""},
      {"models", "LIST", "models for a new data directory (default pop)", ""},
      {"param", "MODEL.KEY=VALUE", "model hyper-parameter", "", true},
      RatingThresholdFlag(),
      {"role", "ROLE", "single | trainer | replica (doc/stream.md; config key role)", ""},
      {"source", "URL",
       "consume events from redis://HOST:PORT/STREAM with a consumer group (config key "
       "stream.source)",
       ""},
      {"bootstrap-from", "URL",
       "a replica with a new data directory starts from the trainer's snapshot at "
       "http://HOST:PORT (config key stream.bootstrap_from)",
       ""},
      {"replication", "MODE",
       "a replica's models: replay | delta (the trainer's deltas; doc/stream.md; config key "
       "stream.replication)",
       ""},
      {"produce-to", "URL",
       "POST /v1/events appends to redis://HOST:PORT/STREAM instead of the local log (config "
       "key stream.produce_to)",
       ""},
      {"update-config-doc", "FILE",
       "rewrite the generated key table of FILE (doc/config.md) in place and exit", ""}};
  for (FlagSpec& spec : LogFlagSpecs()) {
    specs.push_back(std::move(spec));
  }
  Flags flags("serve",
              "Serves the HTTP API (doc/http_api.md) over a data directory. Prints one JSON line "
              "with the address on stdout once ready and logs on stderr; stops cleanly "
              "(snapshot) on SIGINT/SIGTERM (doc/operations.md). Configuration: doc/config.md "
              "(flag > environment > --config file > default).",
              std::move(specs));
  if (Status status = flags.Parse(argc, argv, 2); !status.ok()) {
    return Fail(status);
  }
  if (flags.help()) {
    std::fputs(flags.Usage().c_str(), stdout);
    return 0;
  }
  const Status status = RunServe(flags);
  if (status.ok()) {
    return 0;
  }
  const int rc = Fail(status);
  return flags.GetBool("check-config") ? 1 : rc;  // --check-config: 0 valid, 1 not
}

}  // namespace flywheel::cli
