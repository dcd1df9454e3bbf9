#include "wal/log_format.h"

#include <cstdio>

namespace flywheel::wal {

std::string SegmentFileName(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06llu.log", static_cast<unsigned long long>(number));
  return buf;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* number) {
  constexpr std::string_view kSuffix = ".log";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) {
    return false;
  }
  const std::string_view digits = name.substr(0, name.size() - kSuffix.size());
  if (digits.size() < 6 || digits.size() > 19) {
    return false;
  }
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  *number = value;
  return value > 0;
}

}  // namespace flywheel::wal
