#include "data/reader_common.h"

#include <algorithm>

#include "base/strings.h"

namespace flywheel::data {
namespace {

// Seconds beyond this would overflow when converted to milliseconds.
constexpr int64_t kMaxAbsSeconds = INT64_MAX / 1000;

}  // namespace

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument("field '" + std::string(field) + "': " + std::string(what))
      .WithField(field);
}

std::string SkipReason(std::string_view message) {
  const size_t start = message.find("field '");
  if (start != std::string_view::npos) {
    const size_t end = message.find('\'', start + 7);
    if (end != std::string_view::npos) {
      return std::string(message.substr(start, end + 1 - start));
    }
  }
  const size_t colon = message.find(": ");
  return std::string(colon == std::string_view::npos ? message : message.substr(0, colon));
}

Status SkipGuard::Skip(std::string_view file, int64_t line, const Status& error) {
  Status located = error.WithPrefix("data: " + std::string(file) + ":" + std::to_string(line));
  if (stats_->skipped >= policy_.max_skipped) {
    return located;
  }
  ++stats_->skipped;
  ++stats_->skipped_by_reason[SkipReason(error.message())];
  if (stats_->first_error.empty()) {
    stats_->first_error = located.message();
  }
  return Status::Ok();
}

Status CheckIntegerId(std::string_view text, std::string_view field) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    return FieldError(field, "not an integer id: '" + std::string(text) + "'");
  }
  return Status::Ok();
}

Result<double> ParseNumberField(std::string_view text, std::string_view field) {
  Result<double> value = base::ParseDouble(text);
  if (!value.ok()) {
    return FieldError(field, value.status().message());
  }
  return value;
}

Result<TimestampMs> ParseSecondsField(std::string_view text, std::string_view field) {
  Result<int64_t> seconds = base::ParseInt64(text);
  if (!seconds.ok()) {
    return FieldError(field, seconds.status().message());
  }
  if (*seconds > kMaxAbsSeconds || *seconds < -kMaxAbsSeconds) {
    return FieldError(field, "timestamp out of range: '" + std::string(text) + "'");
  }
  return *seconds * 1000;
}

Status CheckColumns(size_t got, size_t expected) {
  if (got == expected) {
    return Status::Ok();
  }
  return FieldError(
      "columns", "expected " + std::to_string(expected) + " columns, got " + std::to_string(got));
}

std::string ToUtf8Lenient(std::string_view text) {
  return base::IsValidUtf8(text) ? std::string(text) : base::Latin1ToUtf8(text);
}

void AppendUnique(std::vector<std::string>* list, std::string_view value) {
  if (std::find(list->begin(), list->end(), value) == list->end()) {
    list->emplace_back(value);
  }
}

std::string_view StripBom(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    text.remove_prefix(3);
  }
  return text;
}

Status CheckHeader(std::string_view file, std::string_view header, std::string_view expected) {
  if (header == expected) {
    return Status::Ok();
  }
  return Status::InvalidArgument("data: " + std::string(file) + ":1: field 'header': expected '" +
                                 std::string(expected) + "', got '" + std::string(header) + "'");
}

Result<bool> LineEventReader::Next(Event* event) {
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, lines_->ReadLine(&line_));
    if (!got) {
      return false;
    }
    ++stats_.lines;
    const std::string_view text = base::StripCr(line_);
    if (text.empty()) {
      continue;
    }
    Result<bool> parsed = ParseLine(text, event);
    if (parsed.ok()) {
      if (*parsed) {
        ++stats_.events;
        return true;
      }
      continue;
    }
    FLYWHEEL_RETURN_IF_ERROR(guard_.Skip(lines_->name(), lines_->line_number(), parsed.status()));
  }
}

Result<std::string> LineEventReader::ReadHeader() {
  FLYWHEEL_ASSIGN_OR_RETURN(bool got, lines_->ReadLine(&line_));
  if (!got) {
    return Status::InvalidArgument("data: " + lines_->name() + ":1: field 'header': empty file");
  }
  ++stats_.lines;
  return std::string(StripBom(base::StripCr(line_)));
}

}  // namespace flywheel::data
