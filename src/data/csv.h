// CSV record splitting (RFC 4180 quoting) for the dataset readers.
//
// A record is one physical line: quoted fields may contain the separator and "" (an escaped
// quote) but not line breaks (no dataset we read needs them). A quote inside an unquoted field
// is kept literally (lenient, as pandas does); a closing quote followed by anything but the
// separator or the end of the line is an error.
// Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flywheel/status.h"

namespace flywheel::data {

// Splits `line` into *fields (resized to the number of fields). The strings already in *fields
// are reused, so a per-line loop does not allocate once its buffers have grown. On error
// (kInvalidArgument "unterminated quoted field" / "unexpected character after closing quote")
// *fields is unspecified.
Status SplitCsvLine(std::string_view line, char sep, std::vector<std::string>* fields);

}  // namespace flywheel::data
