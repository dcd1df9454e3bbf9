#include "model/param_table.h"

#include <cmath>
#include <cstdio>

#include "base/strings.h"

namespace flywheel::model {

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kDouble:
      return "double";
    case ParamType::kBool:
      return "bool";
    case ParamType::kChoice:
      return "choice";
  }
  return "?";
}

std::string ParamNumberText(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::string ParamRangeText(const ParamInfo& info) {
  switch (info.type) {
    case ParamType::kInt:
    case ParamType::kDouble:
      return "[" + ParamNumberText(info.min) + ", " + ParamNumberText(info.max) + "]";
    case ParamType::kBool:
      return "0|1";
    case ParamType::kChoice: {
      std::string out;
      for (const std::string& choice : info.choices) {
        out += (out.empty() ? "" : "|") + choice;
      }
      return out;
    }
  }
  return "";
}

namespace param_internal {
namespace {

Status Invalid(const std::string& model, const ParamInfo& info, const std::string& text,
               const std::string& rule) {
  return Status::InvalidArgument("model " + model + ": parameter '" + info.name + "' = '" + text +
                                 "' " + rule);
}

}  // namespace

Result<double> ParseValue(const std::string& model, const ParamInfo& info,
                          const std::string& text) {
  const std::string range = ParamRangeText(info);
  if (info.type == ParamType::kChoice) {
    for (size_t i = 0; i < info.choices.size(); ++i) {
      if (info.choices[i] == text) {
        return static_cast<double>(i);
      }
    }
    return Invalid(model, info, text, "must be one of " + range);
  }
  if (info.type == ParamType::kBool) {
    if (text == "true") {
      return 1.0;
    }
    if (text == "false") {
      return 0.0;
    }
  }
  Result<double> value = base::ParseDouble(text);
  const bool integral = info.type != ParamType::kDouble;
  if (!value.ok() || !std::isfinite(*value) || (integral && std::floor(*value) != *value)) {
    const char* kind = info.type == ParamType::kInt    ? "an integer in "
                       : info.type == ParamType::kBool ? "one of "
                                                       : "a number in ";
    return Invalid(model, info, text, std::string("must be ") + kind + range);
  }
  if (!(*value >= info.min && *value <= info.max)) {
    return Invalid(
        model, info, text,
        (info.type == ParamType::kBool ? "must be one of " : "is out of range ") + range);
  }
  return *value;
}

Status UnknownParam(const std::string& model, const std::string& key,
                    const std::vector<ParamInfo>& infos) {
  std::string list;
  for (const ParamInfo& info : infos) {
    list += (list.empty() ? "" : ", ") + info.name;
  }
  return Status::InvalidArgument("model " + model + ": unknown parameter '" + key +
                                 "' (allowed: " + (list.empty() ? "none" : list) + ")");
}

Status OutOfRange(const std::string& model, const ParamInfo& info, double value) {
  return Status::InvalidArgument(
      "model " + model + ": parameter '" + info.name + "' = " +
      (info.type == ParamType::kChoice ? std::string("(unnamed value)") : ParamNumberText(value)) +
      " is out of range " + ParamRangeText(info));
}

}  // namespace param_internal
}  // namespace flywheel::model
