// ServeConfig: the configuration of `flywheel serve` (doc/config.md), strict and table-driven.
//
// One table (ServeConfigKeys, serve_config.cc) lists every key: its dotted path
// ("pipeline.candidates"), type, default, range, environment variable, flag and documentation.
// The same table drives the JSON file parser, the environment and flag overrides, the effective
// configuration `serve --check-config` prints and the generated reference in doc/config.md
// (RegenerateConfigDoc; a test keeps the committed file equal to it).
//
// Sources, weakest first: default < file < environment < flag. Each key remembers where its
// value came from. Errors name the key path and never leak a JSON-library exception:
//   keys.admn: unknown key; known: read, write, admin
//   pipeline.candidates: expected integer, got string
//   pipeline.exploration: 0.9 is out of range [0, 0.5]
//
// Adding a key: one entry in the table of serve_config.cc (type, default, range, doc), then read
// it where it is used (GetString/GetInt/GetDouble/GetStrings) and regenerate doc/config.md with
// `flywheel serve --update-config-doc doc/config.md`.
//
// Not thread-safe for mutation; build it once at start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"
#include "flywheel/result.h"

#include "server/api.h"
#include "server/http_server.h"

namespace flywheel::server {

enum class ConfigType { kString, kInt, kDouble, kStringList, kBool };
enum class ConfigSource { kDefault, kFile, kEnv, kFlag };

std::string_view ConfigTypeName(ConfigType type);
std::string_view ConfigSourceName(ConfigSource source);

// One configuration key.
struct ConfigKeySpec {
  std::string_view path{};  // dotted: "pipeline.candidates" is key candidates of group pipeline
  ConfigType type = ConfigType::kString;
  std::string_view fallback{};  // the default as JSON text: "50", "\"sync\"", "[]"
  double min = 0;               // numbers: the inclusive range
  double max = 0;
  std::string_view env{};   // environment variable overriding it, or ""
  std::string_view flag{};  // `flywheel serve` flag overriding it (without dashes), or ""; a
                            // kBool key's flag takes no value and sets it to true
  std::string_view doc{};   // its effect (doc/config.md)
  // Extra validation of a well-typed, in-range value (enumerations, specs); errors are prefixed
  // with the key path.
  Status (*check)(const nlohmann::json& value) = nullptr;
  bool secret = false;  // never printed (--check-config shows whether it is set)
};

// Every key, in the order of doc/config.md.
const std::vector<ConfigKeySpec>& ServeConfigKeys();

// A replicated deployment's part (doc/stream.md); the URLs are checked by src/stream.
struct StreamSettings {
  std::string role = "single";  // single | trainer | replica
  std::string source;           // "" : consume no stream
  std::string produce_to;       // "" : POST /v1/events writes the local log
  std::string group = "flywheel";
  std::string consumer = "flywheel-1";
  std::string start_id = "0";
  int batch = 1000;
  int block_ms = 100;
  int64_t max_entry_bytes = 1 << 20;
  int64_t max_unapplied = 100'000;
  std::string bootstrap_from;  // replica: the trainer's URL for a new data directory
  std::string bootstrap_key;
  std::string replication = "replay";  // replica: replay | delta
  int delta_rows_ms = 0;               // trainer: > 0 publishes deltas
  int delta_dense_ms = 1000;
  int delta_full_s = 60;
};

// What `serve` runs with, assembled from a ServeConfig.
struct ServeSettings {
  StreamSettings stream;
  ApiKeys keys;
  ApiLimits api;  // rate limits (the rest at their defaults)
  EngineOptions engine;
  ServerOptions http;
};

bool IsLoopbackHost(const std::string& host);

class ServeConfig {
 public:
  ServeConfig();  // every key at its default

  // Merges a JSON object (a config file's text): `origin` names it in errors.
  Status MergeJson(std::string_view text, std::string_view origin);
  Status MergeFile(const std::string& path);
  // Each key's environment variable, when set and non-empty, read through `getenv`.
  Status MergeEnvironment(
      const std::function<std::optional<std::string>(std::string_view)>& getenv);
  // A value given as text (flags, environment): parsed by the key's type; a list takes every
  // element of `values`, a scalar the last one. kInvalidArgument naming the key.
  Status MergeText(std::string_view path, const std::vector<std::string>& values,
                   ConfigSource source);

  std::string GetString(std::string_view path) const;
  int64_t GetInt(std::string_view path) const;
  double GetDouble(std::string_view path) const;
  std::vector<std::string> GetStrings(std::string_view path) const;
  bool GetBool(std::string_view path) const;
  ConfigSource source(std::string_view path) const;

  // The options, with what the engine and the server check later checked here too (durability,
  // pipeline, event types, models and their parameters, keys for a non-loopback host). Errors
  // name the key. Opens nothing.
  Result<ServeSettings> Build() const;

  // The effective configuration, one line per key: `path = value  (source)`; secrets as
  // "<set>" / "<unset>".
  std::string Describe() const;

 private:
  Status Set(const ConfigKeySpec& spec, const nlohmann::json& value, ConfigSource source);
  Status MergeObject(const nlohmann::json& object, const std::string& prefix);
  const nlohmann::json& Value(std::string_view path) const;

  std::map<std::string, nlohmann::json, std::less<>> values_;
  std::map<std::string, ConfigSource, std::less<>> sources_;
};

// The markdown table of every key (doc/config.md's generated block).
std::string ConfigKeysMarkdown();

// `doc` with its block
//   <!-- BEGIN GENERATED: flywheel serve --update-config-doc -->
//   ...
//   <!-- END GENERATED -->
// replaced by ConfigKeysMarkdown(). kInvalidArgument when the block is missing or unterminated.
Result<std::string> RegenerateConfigDoc(std::string_view doc);

}  // namespace flywheel::server
