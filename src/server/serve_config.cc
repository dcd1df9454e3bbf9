#include "server/serve_config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <utility>

#include "flywheel/event_types.h"

#include "base/check.h"
#include "base/strings.h"
#include "engine/loop/loop_options.h"
#include "engine/serve/pipeline.h"
#include "model/registry.h"

namespace flywheel::server {
namespace {

using nlohmann::json;

const ConfigKeySpec* FindKey(std::string_view path) {
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    if (spec.path == path) {
      return &spec;
    }
  }
  return nullptr;
}

bool IsGroup(std::string_view path) {
  const std::string prefix = std::string(path) + ".";
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    if (spec.path.substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return false;
}

// The names directly under `prefix` ("" for the top level), groups once, in table order.
std::string KnownNames(const std::string& prefix) {
  const std::string head = prefix.empty() ? "" : prefix + ".";
  std::vector<std::string> names;
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    if (spec.path.substr(0, head.size()) != head) {
      continue;
    }
    std::string_view rest = spec.path.substr(head.size());
    const std::string name(rest.substr(0, rest.find('.')));
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  std::string out;
  for (const std::string& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

std::string JsonTypeName(const json& value) {
  if (value.is_number_integer()) {
    return "integer";
  }
  if (value.is_number_float()) {
    return "number " + value.dump();
  }
  return value.type_name();  // string, boolean, null, array, object
}

Status KeyError(std::string_view path, const std::string& what) {
  return Status::InvalidArgument(std::string(path) + ": " + what);
}

std::string NumberText(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Type and range of `value` for `spec`; integers are normalised to int64.
Result<json> CheckValue(const ConfigKeySpec& spec, const json& value) {
  switch (spec.type) {
    case ConfigType::kString:
      if (!value.is_string()) {
        return KeyError(spec.path, "expected string, got " + JsonTypeName(value));
      }
      return value;
    case ConfigType::kStringList:
      if (!value.is_array()) {
        return KeyError(spec.path, "expected array of strings, got " + JsonTypeName(value));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
          return KeyError(std::string(spec.path) + "[" + std::to_string(i) + "]",
                          "expected string, got " + JsonTypeName(value[i]));
        }
      }
      return value;
    case ConfigType::kInt: {
      if (!value.is_number_integer()) {
        return KeyError(spec.path, "expected integer, got " + JsonTypeName(value));
      }
      if (value.is_number_unsigned() &&
          value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return KeyError(spec.path, value.dump() + " is out of range [" + NumberText(spec.min) +
                                       ", " + NumberText(spec.max) + "]");
      }
      const int64_t v = value.get<int64_t>();
      if (static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max) {
        return KeyError(spec.path, std::to_string(v) + " is out of range [" + NumberText(spec.min) +
                                       ", " + NumberText(spec.max) + "]");
      }
      return json(v);
    }
    case ConfigType::kBool:
      if (!value.is_boolean()) {
        return KeyError(spec.path, "expected true or false, got " + JsonTypeName(value));
      }
      return value;
    case ConfigType::kDouble: {
      if (!value.is_number()) {
        return KeyError(spec.path, "expected number, got " + JsonTypeName(value));
      }
      const double v = value.get<double>();
      if (!(v >= spec.min && v <= spec.max)) {
        return KeyError(spec.path, NumberText(v) + " is out of range [" + NumberText(spec.min) +
                                       ", " + NumberText(spec.max) + "]");
      }
      return json(v);
    }
  }
  return KeyError(spec.path, "unknown type");
}

// A scalar from text (flags, environment).
Result<json> ParseText(const ConfigKeySpec& spec, const std::string& text) {
  switch (spec.type) {
    case ConfigType::kInt: {
      Result<int64_t> v = base::ParseInt64(text);
      if (!v.ok()) {
        return KeyError(spec.path, "expected integer, got '" + text + "'");
      }
      return json(*v);
    }
    case ConfigType::kDouble: {
      Result<double> v = base::ParseDouble(text);
      if (!v.ok()) {
        return KeyError(spec.path, "expected number, got '" + text + "'");
      }
      return json(*v);
    }
    case ConfigType::kBool:  // a flag without a value (text ""), or the environment's text
      if (text.empty() || text == "true" || text == "1") {
        return json(true);
      }
      if (text == "false" || text == "0") {
        return json(false);
      }
      return KeyError(spec.path, "expected true, false, 1 or 0, got '" + text + "'");
    default:
      return json(text);
  }
}

}  // namespace

std::string_view ConfigTypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "string";
    case ConfigType::kInt:
      return "integer";
    case ConfigType::kDouble:
      return "number";
    case ConfigType::kStringList:
      return "array of strings";
    case ConfigType::kBool:
      return "boolean";
  }
  return "?";
}

std::string_view ConfigSourceName(ConfigSource source) {
  switch (source) {
    case ConfigSource::kDefault:
      return "default";
    case ConfigSource::kFile:
      return "file";
    case ConfigSource::kEnv:
      return "env";
    case ConfigSource::kFlag:
      return "flag";
  }
  return "?";
}

bool IsLoopbackHost(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

ServeConfig::ServeConfig() {
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    values_[std::string(spec.path)] = json::parse(spec.fallback);
    sources_[std::string(spec.path)] = ConfigSource::kDefault;
  }
}

Status ServeConfig::Set(const ConfigKeySpec& spec, const json& value, ConfigSource source) {
  FLYWHEEL_ASSIGN_OR_RETURN(json checked, CheckValue(spec, value));
  if (spec.check != nullptr) {
    if (Status st = spec.check(checked); !st.ok()) {
      return KeyError(spec.path, st.message());
    }
  }
  values_[std::string(spec.path)] = std::move(checked);
  sources_[std::string(spec.path)] = source;
  return Status::Ok();
}

Status ServeConfig::MergeObject(const json& object, const std::string& prefix) {
  for (const auto& item : object.items()) {
    const std::string path = prefix.empty() ? item.key() : prefix + "." + item.key();
    if (const ConfigKeySpec* spec = FindKey(path); spec != nullptr) {
      FLYWHEEL_RETURN_IF_ERROR(Set(*spec, item.value(), ConfigSource::kFile));
    } else if (IsGroup(path)) {
      if (!item.value().is_object()) {
        return KeyError(path, "expected object, got " + JsonTypeName(item.value()));
      }
      FLYWHEEL_RETURN_IF_ERROR(MergeObject(item.value(), path));
    } else {
      return KeyError(path, "unknown key; known: " + KnownNames(prefix));
    }
  }
  return Status::Ok();
}

Status ServeConfig::MergeJson(std::string_view text, std::string_view origin) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("config " + std::string(origin) + ": not valid JSON");
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument("config " + std::string(origin) +
                                   ": expected a JSON object, got " + JsonTypeName(doc));
  }
  Status st = MergeObject(doc, "");
  return st.ok() ? st : st.WithPrefix("config " + std::string(origin));
}

Status ServeConfig::MergeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound("config: cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return MergeJson(text.str(), path);
}

Status ServeConfig::MergeEnvironment(
    const std::function<std::optional<std::string>(std::string_view)>& getenv) {
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    if (spec.env.empty()) {
      continue;
    }
    std::optional<std::string> value = getenv(spec.env);
    if (value.has_value() && !value->empty()) {
      Status st = MergeText(spec.path, {*value}, ConfigSource::kEnv);
      if (!st.ok()) {
        return st.WithPrefix("environment " + std::string(spec.env));
      }
    }
  }
  return Status::Ok();
}

Status ServeConfig::MergeText(std::string_view path, const std::vector<std::string>& values,
                              ConfigSource source) {
  const ConfigKeySpec* spec = FindKey(path);
  if (spec == nullptr) {
    return KeyError(path, "unknown key; known: " + KnownNames(""));
  }
  if (values.empty()) {
    return Status::Ok();
  }
  if (spec->type == ConfigType::kStringList) {
    return Set(*spec, json(values), source);
  }
  FLYWHEEL_ASSIGN_OR_RETURN(json value, ParseText(*spec, values.back()));
  return Set(*spec, value, source);
}

const json& ServeConfig::Value(std::string_view path) const {
  auto it = values_.find(path);
  FLYWHEEL_CHECK(it != values_.end()) << "no configuration key " << path;
  return it->second;
}

std::string ServeConfig::GetString(std::string_view path) const {
  return Value(path).get<std::string>();
}
int64_t ServeConfig::GetInt(std::string_view path) const {
  return Value(path).get<int64_t>();
}
double ServeConfig::GetDouble(std::string_view path) const {
  return Value(path).get<double>();
}
bool ServeConfig::GetBool(std::string_view path) const {
  return Value(path).get<bool>();
}
std::vector<std::string> ServeConfig::GetStrings(std::string_view path) const {
  return Value(path).get<std::vector<std::string>>();
}
ConfigSource ServeConfig::source(std::string_view path) const {
  auto it = sources_.find(path);
  return it == sources_.end() ? ConfigSource::kDefault : it->second;
}

namespace {

PipelineOptions BuildPipeline(const ServeConfig& c) {
  PipelineOptions p;
  p.candidates = static_cast<int>(c.GetInt("pipeline.candidates"));
  p.neighbour_seeds = static_cast<int>(c.GetInt("pipeline.neighbour_seeds"));
  p.neighbours_per_seed = static_cast<int>(c.GetInt("pipeline.neighbours_per_seed"));
  p.trending_candidates = static_cast<int>(c.GetInt("pipeline.trending_candidates"));
  p.content_candidates = static_cast<int>(c.GetInt("pipeline.content_candidates"));
  p.exploration = c.GetDouble("pipeline.exploration");
  p.new_item_window_ms =
      static_cast<int64_t>(std::llround(c.GetDouble("pipeline.new_item_window_hours") * 3.6e6));
  p.exclude_categories = c.GetStrings("pipeline.exclude_categories");
  p.max_per_category = static_cast<int>(c.GetInt("pipeline.max_per_category"));
  p.ann = c.GetString("pipeline.ann");
  p.ann_min_items = static_cast<size_t>(c.GetInt("pipeline.ann_min_items"));
  return p;
}

LoopOptions BuildLoop(const ServeConfig& c) {
  LoopOptions o;
  o.attribution_window_ms = c.GetInt("loop.attribution_window_ms");
  o.default_reward = c.GetDouble("loop.default_reward");
  o.reward_weights = c.GetString("loop.reward_weights");
  o.served_cache = static_cast<size_t>(c.GetInt("loop.served_cache"));
  o.policy = c.GetString("loop.policy");
  o.experiment_salt = c.GetString("loop.experiment_salt");
  o.seed = static_cast<uint64_t>(c.GetInt("loop.seed"));
  o.learn_from_impressions = c.GetBool("loop.learn_from_impressions");
  o.negative_weight = c.GetDouble("loop.negative_weight");
  o.position_bias = c.GetString("loop.position_bias");
  o.weight_cap = c.GetDouble("loop.weight_cap");
  o.max_open_per_user = static_cast<size_t>(c.GetInt("loop.max_open_per_user"));
  o.max_open_items = static_cast<size_t>(c.GetInt("loop.max_open_items"));
  o.close_tick_ms = c.GetInt("loop.close_tick_ms");
  o.discount = c.GetDouble("loop.discount");
  o.horizon = static_cast<uint32_t>(c.GetInt("loop.horizon"));
  return o;
}

// The models and their parameters, each created once to check names, keys and ranges.
Result<std::vector<ModelSpec>> BuildModels(const ServeConfig& c) {
  const std::string models = c.GetString("models");
  const std::vector<std::string> params = c.GetStrings("params");
  if (c.source("models") != ConfigSource::kDefault && base::Trim(models).empty()) {
    return KeyError("models", "empty (leave it out to use the data directory's models)");
  }
  Result<std::vector<ModelSpec>> specs = model::ParseModelSpecs(models, params);
  if (!specs.ok()) {
    return KeyError(params.empty() ? "models" : "models/params", specs.status().message());
  }
  for (const ModelSpec& spec : *specs) {
    auto created = model::CreateRecommender(spec.name, spec.params);
    if (!created.ok()) {
      return KeyError(spec.params.empty() ? "models" : "params", created.status().message());
    }
  }
  return specs;
}

// A rate and a burst (0: twice the rate, at least one request).
RateLimit RateLimitFrom(double rps, double burst) {
  return RateLimit{rps, burst > 0 ? burst : std::max(1.0, 2 * rps)};
}

}  // namespace

namespace {

// role and stream.*: a trainer or replica consumes stream.source and produces to it; a node that
// consumes a stream runs the loop without the two node-local inputs that would make nodes
// replaying the same stream diverge (doc/stream.md, "Determinism").
Status BuildStream(const ServeConfig& c, ServeSettings* s) {
  StreamSettings& t = s->stream;
  t.role = c.GetString("role");
  t.source = c.GetString("stream.source");
  t.produce_to = c.GetString("stream.produce_to");
  t.group = c.GetString("stream.group");
  t.consumer = c.GetString("stream.consumer");
  t.start_id = c.GetString("stream.start_id");
  t.batch = static_cast<int>(c.GetInt("stream.batch"));
  t.block_ms = static_cast<int>(c.GetInt("stream.block_ms"));
  t.max_entry_bytes = c.GetInt("stream.max_entry_bytes");
  t.max_unapplied = c.GetInt("stream.max_unapplied");
  t.bootstrap_from = c.GetString("stream.bootstrap_from");
  t.bootstrap_key = c.GetString("stream.bootstrap_key");
  t.replication = c.GetString("stream.replication");
  t.delta_rows_ms = static_cast<int>(c.GetInt("stream.delta_rows_ms"));
  t.delta_dense_ms = static_cast<int>(c.GetInt("stream.delta_dense_ms"));
  t.delta_full_s = static_cast<int>(c.GetInt("stream.delta_full_s"));
  if (t.replication == "delta" && t.role != "replica") {
    return KeyError("stream.replication", "delta is a replica's mode (the trainer publishes)");
  }
  if (t.delta_rows_ms > 0 && t.role != "trainer") {
    return KeyError("stream.delta_rows_ms", "only a trainer publishes deltas");
  }
  s->engine.model_learning = t.replication != "delta";
  if (!t.bootstrap_from.empty() && t.role != "replica") {
    return KeyError("stream.bootstrap_from", "only a replica bootstraps from a trainer");
  }
  s->api.min_version_wait_ms = static_cast<int>(c.GetInt("stream.min_version_wait_ms"));
  if (t.start_id != "0" && t.start_id != "$") {
    return KeyError("stream.start_id", "expected 0 or $, got '" + t.start_id + "'");
  }
  if (t.consumer.empty()) {
    return KeyError("stream.consumer", "must not be empty");
  }
  if (t.role != "single") {
    if (t.source.empty()) {
      return KeyError("stream.source",
                      "required for role " + t.role + " (redis://HOST:PORT/STREAM, doc/stream.md)");
    }
    if (t.produce_to.empty()) {
      t.produce_to = t.source;
    }
  }
  if (t.group.empty()) {
    if (t.role == "replica") {
      return KeyError("stream.group",
                      "a replica needs a consumer group of its own (e.g. "
                      "replica-1): each group receives every entry once");
    }
    t.group = "flywheel";
  }
  if (!t.source.empty()) {
    if (c.source("loop.close_tick_ms") != ConfigSource::kDefault &&
        c.GetInt("loop.close_tick_ms") != 0) {
      return KeyError("loop.close_tick_ms",
                      "must be 0 on a node that consumes a stream (a close record logged on "
                      "one node's idle wall time would make replicas diverge)");
    }
    if (c.source("loop.served_cache") != ConfigSource::kDefault &&
        c.GetInt("loop.served_cache") != 0) {
      return KeyError("loop.served_cache",
                      "must be 0 on a node that consumes a stream (a list is cached only on "
                      "the node that served it; send impressions with the events)");
    }
    s->engine.loop.close_tick_ms = 0;
    s->engine.loop.served_cache = 0;
  }
  return Status::Ok();
}

}  // namespace

Result<ServeSettings> ServeConfig::Build() const {
  ServeSettings s;
  s.engine.data_dir = GetString("data_dir");
  if (s.engine.data_dir.empty()) {
    return KeyError("data_dir", "required (--data-dir or the config's data_dir)");
  }
  s.http.host = GetString("host");
  s.http.port = static_cast<uint16_t>(GetInt("port"));
  s.http.threads = static_cast<int>(GetInt("threads"));
  s.http.max_body_bytes = static_cast<uint64_t>(GetInt("max_body_bytes"));
  s.http.max_body_bytes_in_flight = static_cast<uint64_t>(GetInt("max_body_bytes_in_flight"));
  if (s.http.max_body_bytes_in_flight < s.http.max_body_bytes) {
    return KeyError("max_body_bytes_in_flight",
                    "smaller than max_body_bytes: a largest body could never be accepted");
  }
  s.api.key_rate =
      RateLimitFrom(GetDouble("rate_limit.key_rps"), GetDouble("rate_limit.key_burst"));
  s.api.ip_rate = RateLimitFrom(GetDouble("rate_limit.ip_rps"), GetDouble("rate_limit.ip_burst"));
  s.keys = ApiKeys{GetString("keys.read"), GetString("keys.write"), GetString("keys.admin")};
  if (!s.keys.any() && !IsLoopbackHost(s.http.host)) {
    return KeyError("host", "no API keys configured: refusing to listen on " + s.http.host +
                                " (only loopback is allowed without keys; set FLYWHEEL_*_KEY "
                                "or the config's keys)");
  }
  s.engine.durability = GetString("durability");
  s.engine.read_only = GetBool("read_only");
  s.engine.snapshot_every = static_cast<uint64_t>(GetInt("snapshot_every"));
  s.engine.snapshot_interval_ms = static_cast<uint64_t>(GetInt("snapshot_interval_s")) * 1000;
  s.engine.keep_snapshots = static_cast<int>(GetInt("keep_snapshots"));
  s.engine.skip_corruption = GetBool("skip_corruption");
  s.engine.event_types = GetString("event_types");
  s.engine.rating_threshold = GetDouble("rating_threshold");
  s.engine.pipeline = BuildPipeline(*this);
  if (Status st = engine::ValidatePipelineOptions(s.engine.pipeline); !st.ok()) {
    return st;  // already names the field; the per-key ranges make this a safety net
  }
  s.engine.loop = BuildLoop(*this);
  FLYWHEEL_RETURN_IF_ERROR(engine::ValidateLoopOptions(s.engine.loop));  // names "loop.<key>"
  FLYWHEEL_ASSIGN_OR_RETURN(s.engine.models, BuildModels(*this));
  FLYWHEEL_RETURN_IF_ERROR(BuildStream(*this, &s));
  return s;
}

std::string ServeConfig::Describe() const {
  std::string out;
  for (const ConfigKeySpec& spec : ServeConfigKeys()) {
    const json& value = Value(spec.path);
    std::string shown = value.dump();
    if (spec.secret) {
      shown = value.get<std::string>().empty() ? "<unset>" : "<set>";
    }
    out += std::string(spec.path) + " = " + shown + "  (" +
           std::string(ConfigSourceName(source(spec.path))) + ")\n";
  }
  return out;
}

}  // namespace flywheel::server
