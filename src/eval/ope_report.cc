#include "eval/ope_report.h"

#include <cmath>
#include <cstdio>

namespace flywheel::eval {
namespace {

nlohmann::json Number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json EstimatorJson(const OpeEstimatorResult& e) {
  nlohmann::json values = nlohmann::json::object();
  for (size_t v = 0; v < kOpeValues; ++v) {
    const OpeEstimate& x = e.values[v];
    values[kOpeValueNames[v]] = {{"value", Number(x.value)},
                                 {"std_error", Number(x.std_error)},
                                 {"low", Number(x.low)},
                                 {"high", Number(x.high)}};
  }
  return {{"values", values},
          {"lists", e.lists},
          {"skipped", e.skipped},
          {"ess", Number(e.ess)},
          {"capped_share", Number(e.capped_share)}};
}

std::string Cell(const OpeEstimate& e) {
  char buf[64];
  if (!std::isfinite(e.value)) {
    return "-";
  }
  if (!std::isfinite(e.low)) {
    std::snprintf(buf, sizeof(buf), "%.4f", e.value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.4f [%.4f, %.4f]", e.value, e.low, e.high);
  }
  return buf;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) {
    s.resize(width, ' ');
  }
  return s + " ";
}

std::string Header(const OpeOptions& options) {
  std::string line = Pad("estimator", 9);
  for (size_t v = 0; v < kOpeValues; ++v) {
    std::string name = kOpeValueNames[v];
    if (v == 3) {
      name = "hr@" + std::to_string(options.hit_k);
    }
    line += Pad(name, 26);
  }
  return line + Pad("ess", 9) + Pad("lists", 8) + Pad("skipped", 8) + "capped\n";
}

std::string Row(const OpeEstimatorResult& e) {
  std::string line = Pad(e.name, 9);
  for (size_t v = 0; v < kOpeValues; ++v) {
    line += Pad(Cell(e.values[v]), 26);
  }
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%-9.1f %-8zu %-8zu %.3f\n", e.ess, e.lists, e.skipped,
                e.capped_share);
  return line + buf;
}

}  // namespace

nlohmann::json OpeReportJson(const OpeReport& report, const OpeData& data,
                             const OpeOptions& options) {
  nlohmann::json targets = nlohmann::json::array();
  for (const OpePolicyEstimates& t : report.targets) {
    nlohmann::json estimators = nlohmann::json::object();
    for (const OpeEstimatorResult& e : t.estimators) {
      estimators[e.name] = EstimatorJson(e);
    }
    targets.push_back({{"policy", t.target}, {"estimators", estimators}});
  }
  return {{"lists", report.lists},
          {"invalid", report.invalid},
          {"replay",
           {{"records", data.records},
            {"impressions", data.impressions},
            {"unclosed", data.unclosed},
            {"first_seq", data.first_seq},
            {"last_seq", data.last_seq}}},
          {"options",
           {{"weight_cap", options.weight_cap},
            {"hit_k", options.hit_k},
            {"folds", options.folds},
            {"prior_lists", options.prior_lists},
            {"confidence", 0.95}}},
          {"logged", EstimatorJson(report.logged)},
          {"targets", targets}};
}

std::string OpeReportTable(const OpeReport& report, const OpeOptions& options) {
  std::string out = "lists " + std::to_string(report.lists);
  if (report.invalid > 0) {
    out += " (" + std::to_string(report.invalid) + " with invalid rewards)";
  }
  out += "; values per list, 95 % intervals\n\n" + Header(options);
  out += Row(report.logged);
  for (const OpePolicyEstimates& t : report.targets) {
    out += "\ntarget " + t.target + "\n";
    for (const OpeEstimatorResult& e : t.estimators) {
      out += Row(e);
    }
  }
  return out;
}

}  // namespace flywheel::eval
