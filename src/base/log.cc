#include "base/log.h"

#include <chrono>
#include <cmath>

#include "base/time_util.h"

namespace flywheel::base {
namespace {

const char* LevelName(LogLevel level, bool upper) {
  switch (level) {
    case LogLevel::kDebug:
      return upper ? "DEBUG" : "debug";
    case LogLevel::kInfo:
      return upper ? "INFO" : "info";
    case LogLevel::kWarn:
      return upper ? "WARN" : "warn";
    case LogLevel::kError:
      return upper ? "ERROR" : "error";
  }
  return "?";
}

// Length of the valid UTF-8 sequence at s[i] (0: invalid).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  if (c < 0x80) {
    return 1;
  }
  if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
    n = 2;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
  } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return 0;
    }
  }
  return n;
}

// Appends `s` escaped for a JSON string (without quotes): control characters as \u00XX,
// invalid UTF-8 as U+FFFD.
void AppendEscaped(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
      ++i;
      continue;
    }
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");
      ++i;
      continue;
    }
    out->append(s.substr(i, n));
    i += n;
  }
}

bool NeedsQuotes(std::string_view s) {
  if (s.empty()) {
    return true;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || u < 0x20 || u == 0x7F) {
      return true;
    }
  }
  return false;
}

}  // namespace

LogField::LogField(std::string k, double v) : key(std::move(k)), number(true) {
  if (!std::isfinite(v)) {
    value = "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  value = buf;
}

Result<LogLevel> ParseLogLevel(std::string_view text) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(level, false)) {
      return level;
    }
  }
  return Status::InvalidArgument("--log-level must be debug, info, warn or error, got '" +
                                 std::string(text.substr(0, 32)) + "'")
      .WithField("log-level");
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "text") {
    return LogFormat::kText;
  }
  if (text == "json") {
    return LogFormat::kJson;
  }
  return Status::InvalidArgument("--log-format must be json or text, got '" +
                                 std::string(text.substr(0, 32)) + "'")
      .WithField("log-format");
}

std::string Logger::Format(int64_t ts_ms, LogLevel level, std::string_view msg,
                           const std::vector<LogField>& fields) const {
  std::string out;
  const std::string ts = FormatIso8601(ts_ms);
  if (format_ == LogFormat::kJson) {
    out += "{\"ts\":\"" + ts + "\",\"level\":\"" + LevelName(level, false) + "\",\"msg\":\"";
    AppendEscaped(msg, &out);
    out += '"';
    for (const LogField& f : fields) {
      out += ",\"";
      AppendEscaped(f.key, &out);
      out += "\":";
      if (f.number) {
        out += f.value;
        continue;
      }
      out += '"';
      AppendEscaped(f.value, &out);
      out += '"';
    }
    out += '}';
    return out;
  }
  out += ts + " " + LevelName(level, true) + " ";
  AppendEscaped(msg, &out);
  for (const LogField& f : fields) {
    out += ' ';
    AppendEscaped(f.key, &out);
    out += '=';
    if (f.number || !NeedsQuotes(f.value)) {
      AppendEscaped(f.value, &out);
      continue;
    }
    out += '"';
    AppendEscaped(f.value, &out);
    out += '"';
  }
  return out;
}

void Logger::Log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields) {
  if (!Enabled(level)) {
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string line = Format(now, level, msg, fields);
  line.push_back('\n');
  MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace flywheel::base
