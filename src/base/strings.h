// Small string helpers used by parsers: splitting, trimming and checked number parsing.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"

namespace flywheel::base {

// Splits on every occurrence of `sep` (empty fields kept). Views point into `text`.
std::vector<std::string_view> Split(std::string_view text, char sep);
// Splits on every occurrence of the multi-character separator `sep` (e.g. "::").
std::vector<std::string_view> Split(std::string_view text, std::string_view sep);
// Same as Split(text, sep) but reuses `out` to avoid allocation in per-line loops.
void SplitInto(std::string_view text, char sep, std::vector<std::string_view>* out);
void SplitInto(std::string_view text, std::string_view sep, std::vector<std::string_view>* out);

std::string_view Trim(std::string_view text);
// Removes one trailing '\r' (CRLF files).
std::string_view StripCr(std::string_view text);

// Whole-string parses; errors say "not an integer: 'x'" / "not a number: 'x'" and reject
// empty strings, trailing garbage, NaN and infinities.
Result<int64_t> ParseInt64(std::string_view text);
Result<double> ParseDouble(std::string_view text);

// Converts ISO-8859-1 (Latin-1) bytes to UTF-8.
std::string Latin1ToUtf8(std::string_view text);

// True when `text` is valid UTF-8.
bool IsValidUtf8(std::string_view text);
// True when `text` holds an ASCII control character (0x00..0x1F or 0x7F).
bool HasControlCharacter(std::string_view text);

// The message for an errno value (thread-safe, unlike std::strerror).
std::string ErrnoString(int errnum);

}  // namespace flywheel::base
