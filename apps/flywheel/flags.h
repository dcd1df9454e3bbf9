// A small command-line flag parser for the flywheel subcommands: --name value, --name=value,
// boolean --name, repeatable flags, positional arguments. Unknown flags are errors that name the
// flag; every subcommand has --help generated from its flag table.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flywheel/result.h"

namespace flywheel::cli {

struct FlagSpec {
  std::string name;   // without dashes
  std::string value;  // placeholder for help ("N", "FILE"); empty for a boolean flag
  std::string help;
  std::string fallback;  // default shown in help and returned by Get()
  bool repeatable = false;
};

class Flags {
 public:
  Flags(std::string command, std::string summary, std::vector<FlagSpec> specs)
      : command_(std::move(command)), summary_(std::move(summary)), specs_(std::move(specs)) {}

  // Parses argv[first..argc). --help sets help().
  Status Parse(int argc, char** argv, int first);

  bool help() const { return help_; }
  std::string Usage() const;
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // The last value given, or the spec's fallback.
  std::string Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  bool GetBool(const std::string& name) const { return Has(name); }
  Result<int64_t> GetInt(const std::string& name) const;
  Result<double> GetDouble(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const FlagSpec* Find(const std::string& name) const;

  std::string command_;
  std::string summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace flywheel::cli
