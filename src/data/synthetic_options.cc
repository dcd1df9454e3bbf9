// The synthetic generator's options: parsing "key=value" parameters, validation, description
// (the generator itself: synthetic.cc).
#include <charconv>
#include <cmath>
#include <sstream>
#include <string_view>

#include "base/strings.h"
#include "base/time_util.h"
#include "data/synthetic.h"
#include "data/synthetic_options_internal.h"

namespace flywheel::data {
namespace {

constexpr int64_t kMaxEntities = int64_t{1} << 31;  // ids must fit ItemIdx / UserIdx

Status BadValue(std::string_view key, std::string_view why) {
  return Status::InvalidArgument("data: synthetic: key '" + std::string(key) +
                                 "': " + std::string(why));
}

Status ParseInto(std::string_view key, std::string_view text, int64_t* out) {
  Result<int64_t> value = base::ParseInt64(text);
  if (!value.ok()) {
    return BadValue(key, value.status().message());
  }
  *out = *value;
  return Status::Ok();
}

Status ParseInto(std::string_view key, std::string_view text, double* out) {
  Result<double> value = base::ParseDouble(text);
  if (!value.ok()) {
    return BadValue(key, value.status().message());
  }
  *out = *value;
  return Status::Ok();
}

Status ParseDrift(std::string_view text, std::vector<double>* out) {
  out->clear();
  if (text == "none") {
    return Status::Ok();
  }
  for (std::string_view part : base::Split(text, ':')) {
    double fraction = 0;
    FLYWHEEL_RETURN_IF_ERROR(ParseInto("drift", part, &fraction));
    out->push_back(fraction);
  }
  return Status::Ok();
}

Status ParseSmallInt(std::string_view key, std::string_view text, int* out) {
  int64_t value = 0;
  FLYWHEEL_RETURN_IF_ERROR(ParseInto(key, text, &value));
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return BadValue(key, "out of range: '" + std::string(text) + "'");
  }
  *out = static_cast<int>(value);
  return Status::Ok();
}

Status ParseSeed(std::string_view text, uint64_t* out) {
  int64_t value = 0;
  FLYWHEEL_RETURN_IF_ERROR(ParseInto("seed", text, &value));
  if (value < 0) {
    return BadValue("seed", "must be >= 0: '" + std::string(text) + "'");
  }
  *out = static_cast<uint64_t>(value);
  return Status::Ok();
}

Status ParseStart(std::string_view text, TimestampMs* out) {
  Result<TimestampMs> value = base::ParseIso8601(text);
  if (!value.ok()) {
    return BadValue("start", value.status().message());
  }
  *out = *value;
  return Status::Ok();
}

// One spec key and how it sets its field.
struct ParamKey {
  std::string_view key;
  Status (*set)(std::string_view key, std::string_view value, SyntheticOptions* options);
};

constexpr ParamKey kParamKeys[] = {
    {"users", [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->users); }},
    {"items", [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->items); }},
    {"events", [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->events); }},
    {"seed", [](auto, auto value, auto* o) { return ParseSeed(value, &o->seed); }},
    {"clusters",
     [](auto key, auto value, auto* o) { return ParseSmallInt(key, value, &o->clusters); }},
    {"zipf", [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->zipf); }},
    {"session",
     [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->mean_session_length); }},
    {"new_items",
     [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->new_item_fraction); }},
    {"drift", [](auto, auto value, auto* o) { return ParseDrift(value, &o->drift_at); }},
    {"drift_users",
     [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->drift_user_fraction); }},
    {"start", [](auto, auto value, auto* o) { return ParseStart(value, &o->start_ms); }},
    {"gap",
     [](auto key, auto value, auto* o) { return ParseInto(key, value, &o->mean_gap_seconds); }},
};

Status ApplyParam(std::string_view key, std::string_view value, SyntheticOptions* options) {
  std::string allowed;
  for (const ParamKey& param : kParamKeys) {
    if (param.key == key) {
      return param.set(key, value, options);
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(param.key);
  }
  return Status::InvalidArgument("data: synthetic: unknown key '" + std::string(key) +
                                 "' (allowed: " + allowed + ")");
}

bool InUnitInterval(double x) {
  return x >= 0.0 && x <= 1.0;
}  // false for NaN

std::string ToText(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Checks the ranges documented in synthetic.h; errors name the spec key of the field.
}  // namespace

Status ValidateSyntheticOptions(const SyntheticOptions& o) {
  if (o.users < 1 || o.users >= kMaxEntities) {
    return BadValue("users", "must be in [1, 2^31): " + std::to_string(o.users));
  }
  if (o.items < 1 || o.items >= kMaxEntities) {
    return BadValue("items", "must be in [1, 2^31): " + std::to_string(o.items));
  }
  if (o.events < 0) {
    return BadValue("events", "must be >= 0: " + std::to_string(o.events));
  }
  if (o.clusters < 1 || o.clusters > o.items) {
    return BadValue("clusters", "must be between 1 and items (" + std::to_string(o.items) +
                                    "): " + std::to_string(o.clusters));
  }
  if (!(o.zipf >= 0.0) || !std::isfinite(o.zipf)) {
    return BadValue("zipf", "must be a finite number >= 0: " + ToText(o.zipf));
  }
  if (!(o.mean_session_length >= 1.0) || !std::isfinite(o.mean_session_length)) {
    return BadValue("session", "must be a finite number >= 1: " + ToText(o.mean_session_length));
  }
  if (!InUnitInterval(o.new_item_fraction)) {
    return BadValue("new_items", "must be in [0, 1]: " + ToText(o.new_item_fraction));
  }
  for (double fraction : o.drift_at) {
    if (!InUnitInterval(fraction)) {
      return BadValue("drift", "fractions must be in [0, 1]: " + ToText(fraction));
    }
  }
  if (!InUnitInterval(o.drift_user_fraction)) {
    return BadValue("drift_users", "must be in [0, 1]: " + ToText(o.drift_user_fraction));
  }
  if (!(o.mean_gap_seconds >= 0.0) || !std::isfinite(o.mean_gap_seconds)) {
    return BadValue("gap", "must be a finite number >= 0: " + ToText(o.mean_gap_seconds));
  }
  return Status::Ok();
}

std::string DescribeSyntheticOptions(const SyntheticOptions& o) {
  std::string drift;
  for (double fraction : o.drift_at) {
    drift += (drift.empty() ? "" : ":") + ToText(fraction);
  }
  return "synthetic: users=" + std::to_string(o.users) + " items=" + std::to_string(o.items) +
         " events=" + std::to_string(o.events) + " seed=" + std::to_string(o.seed) +
         " clusters=" + std::to_string(o.clusters) + " zipf=" + ToText(o.zipf) +
         " session=" + ToText(o.mean_session_length) + " new_items=" + ToText(o.new_item_fraction) +
         " drift=" + (drift.empty() ? "none" : drift) +
         " drift_users=" + ToText(o.drift_user_fraction) +
         " start=" + base::FormatIso8601(o.start_ms) + " gap=" + ToText(o.mean_gap_seconds) + "s";
}

Result<SyntheticOptions> SyntheticOptions::FromParams(
    const std::map<std::string, std::string>& params) {
  SyntheticOptions options;
  for (const auto& [key, value] : params) {
    FLYWHEEL_RETURN_IF_ERROR(ApplyParam(key, value, &options));
  }
  // A default the user did not set must fit what they did set: fewer items than the default
  // cluster count get one cluster per item (an explicit clusters= is checked as given).
  if (params.count("clusters") == 0 && options.items >= 1 && options.clusters > options.items) {
    options.clusters = static_cast<int>(options.items);
  }
  FLYWHEEL_RETURN_IF_ERROR(ValidateSyntheticOptions(options));
  return options;
}

}  // namespace flywheel::data
