// Timestamp parsing and formatting (UTC, milliseconds since the Unix epoch).
#pragma once

#include <string>
#include <string_view>

#include "flywheel/result.h"
#include "flywheel/types.h"

namespace flywheel::base {

// The instants ParseIso8601 returns and FormatIso8601 writes with a four-digit year:
// 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
inline constexpr TimestampMs kMinIso8601Ms = -62167219200000;
inline constexpr TimestampMs kMaxIso8601Ms = 253402300799999;

// Parses ISO-8601: "2023-11-14", "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.123Z",
// "2023-11-14T22:13:20+02:00", "2023-11-14 22:13:20" (no zone = UTC). A zone offset is RFC 3339's
// +-hh:mm (or +-hhmm) with hh <= 23 and mm <= 59. kInvalidArgument for anything else, and for an
// instant outside [kMinIso8601Ms, kMaxIso8601Ms] in UTC.
Result<TimestampMs> ParseIso8601(std::string_view text);
// "2023-11-14T22:13:20.123Z" (milliseconds always shown).
std::string FormatIso8601(TimestampMs ts_ms);
// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace flywheel::base
