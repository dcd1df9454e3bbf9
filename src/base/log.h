// Logger: the server's structured log (doc/operations.md, "Logs"). One line per record on a
// FILE (stderr for `flywheel serve`), in one of two formats:
//   json: {"ts":"2026-12-06T19:20:00.123Z","level":"info","msg":"listening","address":"..."}
//   text: 2026-12-06T19:20:00.123Z INFO listening address=127.0.0.1:8080
// Records below the configured level are dropped before they are formatted. Field values are
// strings (JSON-escaped; in text, quoted when they contain a space, '=' or '"') or numbers
// (written as given). Control characters and invalid UTF-8 never reach the output raw: they are
// escaped (\u00XX) or replaced by U+FFFD, so one record is always one line.
//
// Thread safety: Log may be called from any thread; a mutex makes each line one write and
// flush, so lines never interleave.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace flywheel::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// "debug" | "info" | "warn" | "error"; kInvalidArgument naming the flag otherwise.
Result<LogLevel> ParseLogLevel(std::string_view text);
// "text" | "json".
Result<LogFormat> ParseLogFormat(std::string_view text);

struct LogField {
  LogField(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  LogField(std::string k, const char* v) : key(std::move(k)), value(v) {}
  LogField(std::string k, int64_t v) : key(std::move(k)), value(std::to_string(v)), number(true) {}
  LogField(std::string k, uint64_t v) : key(std::move(k)), value(std::to_string(v)), number(true) {}
  LogField(std::string k, int v) : key(std::move(k)), value(std::to_string(v)), number(true) {}
  LogField(std::string k, double v);
  std::string key;
  std::string value;
  bool number = false;
};

class Logger {
 public:
  // `out` is not owned and must outlive the logger.
  Logger(LogFormat format, LogLevel level, FILE* out) : format_(format), level_(level), out_(out) {}
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= level_; }
  void Log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields = {});

  // One record's line (without the newline) at time `ts_ms`; for tests.
  std::string Format(int64_t ts_ms, LogLevel level, std::string_view msg,
                     const std::vector<LogField>& fields) const;

 private:
  const LogFormat format_;
  const LogLevel level_;
  FILE* const out_;
  // Held while a line is written and flushed (lines never interleave).
  Mutex mu_;
};

}  // namespace flywheel::base
