#include "base/strings.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace flywheel::base {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  SplitInto(text, sep, &out);
  return out;
}

std::vector<std::string_view> Split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  SplitInto(text, sep, &out);
  return out;
}

void SplitInto(std::string_view text, char sep, std::vector<std::string_view>* out) {
  out->clear();
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      out->push_back(text.substr(start));
      return;
    }
    out->push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

void SplitInto(std::string_view text, std::string_view sep, std::vector<std::string_view>* out) {
  out->clear();
  if (sep.empty()) {
    out->push_back(text);
    return;
  }
  size_t start = 0;
  while (true) {
    const size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      out->push_back(text.substr(start));
      return;
    }
    out->push_back(text.substr(start, pos - start));
    start = pos + sep.size();
  }
}

std::string_view Trim(std::string_view text) {
  static constexpr const char* kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  const size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

std::string_view StripCr(std::string_view text) {
  if (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
  }
  return text;
}

Result<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument("not an integer: '" + std::string(text) + "'");
  }
  return value;
}

Result<double> ParseDouble(std::string_view text) {
  // std::from_chars for double is available in libstdc++ 11+.
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return Status::InvalidArgument("not a number: '" + std::string(text) + "'");
  }
  return value;
}

std::string Latin1ToUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return out;
}

bool HasControlCharacter(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return true;
    }
  }
  return false;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int extra = 0;
    if (byte < 0x80) {
      extra = 0;
    } else if ((byte >> 5) == 0x6) {
      extra = 1;
    } else if ((byte >> 4) == 0xE) {
      extra = 2;
    } else if ((byte >> 3) == 0x1E) {
      extra = 3;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(extra) >= text.size() && extra > 0) {
      return false;
    }
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + static_cast<size_t>(k)]) >> 6) != 0x2) {
        return false;
      }
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

std::string ErrnoString(int errnum) {
  char buf[256];
  // GNU strerror_r returns a pointer to the message (possibly not `buf`).
  const char* message = ::strerror_r(errnum, buf, sizeof(buf));
  return message != nullptr ? std::string(message) : "errno " + std::to_string(errnum);
}

}  // namespace flywheel::base
