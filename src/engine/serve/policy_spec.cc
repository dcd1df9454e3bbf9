// Policy specs and experiment arms (policy.h): parsing, the canonical form, the arm of a user.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/random.h"
#include "engine/serve/policy.h"

namespace flywheel::engine {
namespace {

Status Bad(std::string_view spec, const std::string& what) {
  return Status::InvalidArgument("policy '" + std::string(spec) + "': " + what);
}

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::string FormatParam(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// "/pool=N" and "/samples=N" options after the name and parameter.
Status ParseOptions(std::string_view spec, std::string_view rest, ListPolicySpec* out) {
  while (!rest.empty()) {
    const size_t slash = rest.find('/', 1);
    const std::string_view opt =
        rest.substr(1, slash == std::string_view::npos ? rest.npos : slash - 1);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    const size_t eq = opt.find('=');
    const std::string_view key = opt.substr(0, eq);
    const int value = eq == std::string_view::npos ? -1 : ParseInt(opt.substr(eq + 1)).value_or(-1);
    if (key == "pool" && value >= 1 && value <= 10000) {
      out->pool = value;
    } else if (key == "samples" && value >= 16 && value <= 100000) {
      out->samples = value;
    } else {
      return Bad(spec,
                 "unknown option '" + std::string(opt) + "' (pool=1..10000 or samples=16..100000)");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ListPolicySpec::Canonical() const {
  std::string s = reward ? "reward" : "";
  if (reward && kind == PolicyKind::kGreedy && pool == 0 && samples == 0) {
    return s;
  }
  if (reward) {
    s += "+";
  }
  switch (kind) {
    case PolicyKind::kGreedy:
      s += "greedy";
      break;
    case PolicyKind::kEpsilon:
      s += "epsilon:" + FormatParam(param);
      break;
    case PolicyKind::kBoltzmann:
      s += "boltzmann:" + FormatParam(param);
      break;
    case PolicyKind::kThompson:
      s += "thompson:" + FormatParam(param);
      break;
  }
  if (pool != 0) {
    s += "/pool=" + std::to_string(pool);
  }
  if (samples != 0) {
    s += "/samples=" + std::to_string(samples);
  }
  return s;
}

Result<ModelPolicy> SplitModelPolicy(std::string_view spec) {
  const size_t colon = spec.find(':');
  const std::string_view head = spec.substr(0, colon);
  const std::string_view name = head.substr(0, head.find('/'));
  if (name == "greedy" || name == "epsilon" || name == "boltzmann" || name == "thompson" ||
      name.starts_with("reward")) {
    return ModelPolicy{"", std::string(spec)};
  }
  if (colon == std::string_view::npos || colon + 1 == spec.size()) {
    return Status::InvalidArgument(
        "expected <policy> or <model>:<policy> (policies: greedy, epsilon:E, boltzmann:T, "
        "thompson:S)");
  }
  return ModelPolicy{std::string(head), std::string(spec.substr(colon + 1))};
}

Result<ListPolicySpec> ParseListPolicy(std::string_view spec) {
  ListPolicySpec out;
  std::string_view rest = spec;
  if (rest.substr(0, 6) == "reward") {
    out.reward = true;
    rest.remove_prefix(6);
    if (rest.empty()) {
      return out;
    }
    if (rest.front() != '+') {
      return Bad(spec, "expected 'reward' or 'reward+<policy>'");
    }
    rest.remove_prefix(1);
  }
  const size_t slash = rest.find('/');
  const std::string_view options =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  const std::string_view head = rest.substr(0, slash);
  const size_t colon = head.find(':');
  const std::string_view name = head.substr(0, colon);
  std::optional<double> param;
  if (colon != std::string_view::npos) {
    param = ParseDouble(head.substr(colon + 1));
    if (!param) {
      return Bad(spec, "the parameter after ':' must be a number");
    }
  }
  if (name == "greedy") {
    if (param) {
      return Bad(spec, "greedy takes no parameter");
    }
  } else if (name == "epsilon") {
    out.kind = PolicyKind::kEpsilon;
    if (!param || !(*param > 0 && *param <= 1)) {
      return Bad(spec, "epsilon needs E in (0, 1], e.g. epsilon:0.1");
    }
  } else if (name == "boltzmann" || name == "thompson") {
    out.kind = name == "boltzmann" ? PolicyKind::kBoltzmann : PolicyKind::kThompson;
    if (!param || !(*param > 0 && *param <= 1e6)) {
      return Bad(spec, std::string(name) + " needs a positive parameter, e.g. " +
                           std::string(name) + ":0.5");
    }
  } else {
    return Bad(spec, "unknown policy '" + std::string(name) +
                         "' (greedy, epsilon:E, boltzmann:T, thompson:S, reward[+policy])");
  }
  out.param = param.value_or(0);
  FLYWHEEL_RETURN_IF_ERROR(ParseOptions(spec, options, &out));
  if (out.kind == PolicyKind::kGreedy && (out.pool != 0 || out.samples != 0)) {
    return Bad(spec, "greedy takes no options");
  }
  return out;
}

Result<std::vector<PolicyArm>> ParsePolicyArms(std::string_view arms) {
  std::vector<PolicyArm> out;
  if (arms.find('@') == std::string_view::npos) {
    FLYWHEEL_ASSIGN_OR_RETURN(ListPolicySpec spec, ParseListPolicy(arms));
    out.push_back(PolicyArm{spec, 1.0});
    return out;
  }
  double total = 0;
  while (true) {
    const size_t comma = arms.find(',');
    const std::string_view arm = arms.substr(0, comma);
    const size_t at = arm.rfind('@');
    if (at == std::string_view::npos) {
      return Status::InvalidArgument("policy arm '" + std::string(arm) +
                                     "': expected <spec>@<share>");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(ListPolicySpec spec, ParseListPolicy(arm.substr(0, at)));
    const std::optional<double> share = ParseDouble(arm.substr(at + 1));
    if (!share || !(*share > 0 && *share <= 1)) {
      return Status::InvalidArgument("policy arm '" + std::string(arm) +
                                     "': the share must be in (0, 1]");
    }
    total += *share;
    out.push_back(PolicyArm{spec, *share});
    if (comma == std::string_view::npos) {
      break;
    }
    arms.remove_prefix(comma + 1);
  }
  if (std::fabs(total - 1.0) > 1e-6) {
    return Status::InvalidArgument("policy arms: the shares sum to " + FormatParam(total) +
                                   ", not 1");
  }
  return out;
}

const ListPolicySpec& ArmFor(const std::vector<PolicyArm>& arms, std::string_view user,
                             std::string_view salt) {
  // FNV-1a over salt, a separator and the user id, then a 64-bit finaliser: stable across
  // builds and platforms (no std::hash).
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&h](std::string_view s) {
    for (const char c : s) {
      h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
  };
  feed(salt);
  feed(std::string_view("\x1f", 1));
  feed(user);
  const double u = static_cast<double>(base::Mix64(h) >> 11) * 0x1.0p-53;
  double cumulative = 0;
  for (const PolicyArm& arm : arms) {
    cumulative += arm.share;
    if (u < cumulative) {
      return arm.spec;
    }
  }
  return arms.back().spec;
}

Status ValidateLoopPolicy(const LoopOptions& loop) {
  const Result<std::vector<PolicyArm>> arms = ParsePolicyArms(loop.policy);
  if (!arms.ok()) {
    return Status::InvalidArgument("loop: field 'loop.policy': " + arms.status().message())
        .WithField("loop.policy");
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
