// Private to src/data: the synthetic generator's option checks, shared by synthetic.cc (the
// generator) and synthetic_options.cc (parsing).
#pragma once

#include <string>

#include "data/synthetic.h"

namespace flywheel::data {

// kInvalidArgument naming the key and the allowed range.
Status ValidateSyntheticOptions(const SyntheticOptions& options);
// One line: every option's value ("synthetic: users=... items=...").
std::string DescribeSyntheticOptions(const SyntheticOptions& options);

}  // namespace flywheel::data
