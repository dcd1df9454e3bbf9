#include "flags.h"

#include "base/strings.h"

namespace flywheel::cli {

const FlagSpec* Flags::Find(const std::string& name) const {
  for (const FlagSpec& spec : specs_) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

Status Flags::Parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* spec = Find(name);
    if (spec == nullptr) {
      return Status::InvalidArgument(command_ + ": unknown flag --" + name + " (see " + command_ +
                                     " --help)");
    }
    if (!spec->value.empty() && !has_value) {
      if (i + 1 >= argc) {
        return Status::InvalidArgument(command_ + ": flag --" + name + " needs a value (" +
                                       spec->value + ")");
      }
      value = argv[++i];
    } else if (spec->value.empty() && has_value) {
      return Status::InvalidArgument(command_ + ": flag --" + name + " takes no value");
    }
    if (!spec->repeatable && values_.count(name) != 0) {
      return Status::InvalidArgument(command_ + ": flag --" + name + " given twice");
    }
    values_[name].push_back(value);
  }
  return Status::Ok();
}

std::string Flags::Usage() const {
  std::string out = "usage: flywheel " + command_ + " [flags]\n\n" + summary_ + "\n\nflags:\n";
  for (const FlagSpec& spec : specs_) {
    std::string left = "  --" + spec.name + (spec.value.empty() ? "" : " " + spec.value);
    if (left.size() < 28) {
      left.resize(28, ' ');
    } else {
      left += "\n" + std::string(28, ' ');
    }
    out += left + spec.help;
    if (!spec.fallback.empty()) {
      out += " (default: " + spec.fallback + ")";
    }
    if (spec.repeatable) {
      out += " (repeatable)";
    }
    out += "\n";
  }
  out += "  --help                    this text\n";
  return out;
}

std::string Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) {
    return it->second.back();
  }
  const FlagSpec* spec = Find(name);
  return spec ? spec->fallback : "";
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<int64_t> Flags::GetInt(const std::string& name) const {
  auto value = base::ParseInt64(Get(name));
  if (!value.ok()) {
    return value.status().WithPrefix(command_ + ": --" + name);
  }
  return *value;
}

Result<double> Flags::GetDouble(const std::string& name) const {
  auto value = base::ParseDouble(Get(name));
  if (!value.ok()) {
    return value.status().WithPrefix(command_ + ": --" + name);
  }
  return *value;
}

}  // namespace flywheel::cli
