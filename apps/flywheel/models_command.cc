// flywheel models: the models and their parameters, from the parameter tables
// (model/param_table.h); --markdown prints doc/params.md's tables, --update-doc rewrites them.
// Also the one --models/--param parser of every subcommand.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "commands.h"
#include "flags.h"
#include "model/registry.h"

namespace flywheel::cli {
namespace {

Status RunModels(const Flags& flags) {
  std::vector<std::string> names = flags.positional();
  if (names.empty()) {
    names = model::KnownModels();
  }
  if (flags.Has("update-doc")) {
    const std::string path = flags.Get("update-doc");
    std::ifstream in(path);
    if (!in) {
      return Status::IoError("models: cannot read '" + path + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    FLYWHEEL_ASSIGN_OR_RETURN(std::string doc, model::RegenerateParamsDoc(text.str()));
    std::ofstream out(path, std::ios::trunc);
    out << doc;
    if (!out.good()) {
      return Status::IoError("models: cannot write '" + path + "'");
    }
    std::printf("updated %s\n", path.c_str());
    return Status::Ok();
  }
  std::string out;
  for (const std::string& name : names) {
    if (flags.GetBool("markdown")) {
      FLYWHEEL_ASSIGN_OR_RETURN(std::string table, model::ModelParamsMarkdown(name));
      out += (out.empty() ? "" : "\n") + table;
    } else {
      FLYWHEEL_ASSIGN_OR_RETURN(std::string help, model::ModelParamsHelp(name));
      out += (out.empty() ? "" : "\n") + help;
    }
  }
  std::fputs(out.c_str(), stdout);
  return Status::Ok();
}

}  // namespace

Result<std::vector<ModelSpec>> ParseModelSpecs(const Flags& flags) {
  // Get: the value given, else the subcommand's default list (empty for ingest and serve).
  const std::string models = flags.Get("models");
  if (flags.Has("models") && base::Trim(models).empty()) {
    return Status::InvalidArgument("--models is empty");
  }
  return model::ParseModelSpecs(models, flags.GetAll("param"));
}

int ModelsMain(int argc, char** argv) {
  return RunCommand(Flags("models",
                          "Lists the models and their parameters (--param MODEL.KEY=VALUE): type, "
                          "default, range and meaning. Arguments: model names (default: all).",
                          {{"markdown", "", "print the markdown tables of doc/params.md", ""},
                           {"update-doc", "FILE",
                            "rewrite the generated parameter tables of FILE (doc/params.md) in "
                            "place",
                            ""}}),
                    argc, argv, RunModels);
}

FlagSpec RatingThresholdFlag() {
  return {"rating-threshold", "X",
          "a rating below X is negative feedback for learning (a dislike, never a reason)", "3.5"};
}

Status ParseRatingThreshold(const Flags& flags, double* threshold) {
  if (!flags.Has("rating-threshold")) {
    return Status::Ok();
  }
  Result<double> value = flags.GetDouble("rating-threshold");
  if (!value.ok() || !std::isfinite(*value)) {
    return Status::InvalidArgument("--rating-threshold: expected a finite number, got '" +
                                   flags.Get("rating-threshold") + "'");
  }
  *threshold = *value;
  return Status::Ok();
}

}  // namespace flywheel::cli
