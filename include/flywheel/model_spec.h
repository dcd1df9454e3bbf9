// ModelSpec: one model of an engine or an evaluation, by registry name with its parameters as
// text. The names and their parameters: `flywheel models` and doc/params.md.
#pragma once

#include <map>
#include <string>

namespace flywheel {

struct ModelSpec {
  std::string name;                           // a registry name: pop, recentpop, itemknn, bpr...
  std::map<std::string, std::string> params;  // parameter -> value text
};

}  // namespace flywheel
