#include "base/time_util.h"

#include <cstdio>
#include <string>

namespace flywheel::base {
namespace {

// Reads exactly `n` digits at text[*pos]; false if not digits.
bool ReadDigits(std::string_view text, size_t* pos, int n, int64_t* out) {
  if (*pos + static_cast<size_t>(n) > text.size()) {
    return false;
  }
  int64_t value = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = value;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos < text.size() && text[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

unsigned DaysInMonth(int64_t year, int64_t month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Status Bad(std::string_view text, const char* why) {
  return Status::InvalidArgument("not an ISO-8601 time (" + std::string(why) + "): '" +
                                 std::string(text) + "'");
}

}  // namespace

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Result<TimestampMs> ParseIso8601(std::string_view text) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return Bad(text, "expected YYYY-MM-DD");
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return Bad(text, "no such date");
  }
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (!Expect(text, &pos, 'T') && !Expect(text, &pos, ' ')) {
      return Bad(text, "expected 'T' after the date");
    }
    if (!ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &second)) {
      return Bad(text, "expected hh:mm:ss");
    }
    if (hour > 23 || minute > 59 || second > 60) {
      return Bad(text, "time out of range");
    }
    if (Expect(text, &pos, '.')) {
      int digits = 0;
      int64_t frac = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 3) {
          frac = frac * 10 + (text[pos] - '0');
        }
        ++digits;
        ++pos;
      }
      if (digits == 0) {
        return Bad(text, "empty fraction");
      }
      for (int i = digits; i < 3; ++i) {
        frac *= 10;
      }
      millis = frac;
    }
    if (Expect(text, &pos, 'Z')) {
      // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int64_t off_h = 0, off_m = 0;
      if (!ReadDigits(text, &pos, 2, &off_h) || !(Expect(text, &pos, ':') || true) ||
          !ReadDigits(text, &pos, 2, &off_m)) {
        return Bad(text, "bad zone offset");
      }
      // RFC 3339 time-numoffset: hh 00..23, mm 00..59.
      if (off_h > 23 || off_m > 59) {
        return Bad(text, "zone offset out of range (+-hh:mm, hh <= 23, mm <= 59)");
      }
      offset_minutes = sign * (off_h * 60 + off_m);
    }
  }
  if (pos != text.size()) {
    return Bad(text, "trailing characters");
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  const TimestampMs ms = seconds * 1000 + millis;
  // A leap second or a zone offset can carry 9999-12-31 into the year 10000 (or 0000-01-01 into
  // the year -1), which FormatIso8601 cannot write as four digits: found by fuzz/iso8601.
  if (ms < kMinIso8601Ms || ms > kMaxIso8601Ms) {
    return Bad(text, "outside the years 0000 to 9999 in UTC");
  }
  return ms;
}

std::string FormatIso8601(TimestampMs ts_ms) {
  int64_t seconds = ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000;
  const int64_t millis = ts_ms - seconds * 1000;
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t secs_of_day = seconds - days * 86400;
  // civil_from_days (Hinnant)
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t year = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  year += month <= 2 ? 1 : 0;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(year), month, day,
                static_cast<long long>(secs_of_day / 3600),
                static_cast<long long>(secs_of_day / 60 % 60),
                static_cast<long long>(secs_of_day % 60), static_cast<long long>(millis));
  return buf;
}

}  // namespace flywheel::base
