#include "log_setup.h"

#include <cstdio>

namespace flywheel::cli {

std::vector<FlagSpec> LogFlagSpecs() {
  return {{"log-format", "F", "log lines on stderr: text | json", "text"},
          {"log-level", "L", "least severe level logged: debug | info | warn | error", "info"},
          {"access-log", "", "log every HTTP request (level info; never the API key)", ""}};
}

Result<std::unique_ptr<base::Logger>> MakeLogger(const Flags& flags) {
  FLYWHEEL_ASSIGN_OR_RETURN(base::LogFormat format, base::ParseLogFormat(flags.Get("log-format")));
  FLYWHEEL_ASSIGN_OR_RETURN(base::LogLevel level, base::ParseLogLevel(flags.Get("log-level")));
  return std::make_unique<base::Logger>(format, level, stderr);
}

}  // namespace flywheel::cli
