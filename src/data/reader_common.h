// Shared machinery of the line-oriented dataset readers (MovieLens, Taobao, Last.fm, event
// files): the skip policy, field errors and checked field parsing, and a base class that runs
// the read loop. Internal to the data module.
//
// Error convention: a parser reports a malformed line as kInvalidArgument "field '<name>': <what>"
// (FieldError); the loop prefixes it with "data: <file>:<line>: " and either returns it or, under
// the SkipPolicy, counts it in ReadStats under the reason key "field '<name>'".
// Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"
#include "flywheel/status.h"
#include "flywheel/types.h"

#include "data/event_reader.h"
#include "data/line_reader.h"

namespace flywheel::data {

// kInvalidArgument "field '<field>': <what>".
Status FieldError(std::string_view field, std::string_view what);

// The short reason key of an error message: its "field '<name>'" part when present, else the
// text before the first ": " ("event"), else the whole message.
std::string SkipReason(std::string_view message);

// Applies a SkipPolicy to malformed lines, counting them in a ReadStats it does not own.
class SkipGuard {
 public:
  SkipGuard(SkipPolicy policy, ReadStats* stats) : policy_(policy), stats_(stats) {}

  // `error` is a malformed line at file:line. Returns OK when the policy lets the line be skipped
  // (counted in the stats), else the error as "data: <file>:<line>: <message>".
  Status Skip(std::string_view file, int64_t line, const Status& error);

 private:
  SkipPolicy policy_;
  ReadStats* stats_;
};

// Checked field parsers; errors are FieldError(field, ...).
// An id made of decimal digits (kept as text by the caller).
Status CheckIntegerId(std::string_view text, std::string_view field);
// A finite number.
Result<double> ParseNumberField(std::string_view text, std::string_view field);
// An integer number of seconds since the epoch, returned as milliseconds.
Result<TimestampMs> ParseSecondsField(std::string_view text, std::string_view field);
// FieldError("columns", "expected N columns, got M") unless got == expected.
Status CheckColumns(size_t got, size_t expected);

// Text that should be UTF-8 but may not be: returned as-is when valid, else read as Latin-1.
std::string ToUtf8Lenient(std::string_view text);

// Appends `value` to *list unless it is already there (keeps first-seen order).
void AppendUnique(std::vector<std::string>* list, std::string_view value);

// Removes a leading UTF-8 byte order mark.
std::string_view StripBom(std::string_view text);

// kInvalidArgument "data: <file>:1: field 'header': expected '<expected>', got '<header>'"
// unless `header` (BOM and '\r' already stripped) equals `expected`.
Status CheckHeader(std::string_view file, std::string_view header, std::string_view expected);

// Reads every line of the file at `path`: calls `parse(line, line_number)` for each line that is
// not empty once its '\r' is stripped; a parse error goes through `guard`. When `header` is not
// empty the first line must equal it (a mismatch is fatal, not skipped). Returns the first error
// that is not skipped, or an I/O error.
template <typename Fn>
Status ForEachLine(const std::string& path, std::string_view header, SkipGuard* guard, Fn&& parse);

// Base of the readers that stream one line-oriented event file. The subclass parses lines;
// this class counts lines and events, skips empty lines and applies the skip policy.
class LineEventReader : public EventReader {
 public:
  LineEventReader(std::unique_ptr<LineReader> lines, SkipPolicy skip)
      : lines_(std::move(lines)), guard_(skip, &stats_) {}

  Result<bool> Next(Event* event) final;
  const std::vector<Item>& items() const override { return items_; }
  const ReadStats& stats() const override { return stats_; }

 protected:
  // Parses one non-empty line (without '\r'). Returns true when *event was filled, false when
  // the line carries no event (a comment), or a FieldError for a malformed line.
  virtual Result<bool> ParseLine(std::string_view line, Event* event) = 0;

  // Reads the header line (counted in stats().lines). Returns it without '\r' and BOM;
  // kInvalidArgument "data: <file>:1: field 'header': empty file" when there is none.
  Result<std::string> ReadHeader();

  LineReader& lines() { return *lines_; }
  SkipGuard& guard() { return guard_; }
  std::vector<Item>& mutable_items() { return items_; }

 private:
  std::unique_ptr<LineReader> lines_;
  ReadStats stats_;
  SkipGuard guard_;
  std::vector<Item> items_;
  std::string line_;
};

// ---- Implementation of the template ----

template <typename Fn>
Status ForEachLine(const std::string& path, std::string_view header, SkipGuard* guard, Fn&& parse) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  std::string line;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
    if (!got) {
      return Status::Ok();
    }
    std::string_view text = line;
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    }
    if (reader->line_number() == 1 && !header.empty()) {
      FLYWHEEL_RETURN_IF_ERROR(CheckHeader(reader->name(), StripBom(text), header));
      continue;
    }
    if (text.empty()) {
      continue;
    }
    Status status = parse(text, reader->line_number());
    if (!status.ok()) {
      FLYWHEEL_RETURN_IF_ERROR(guard->Skip(reader->name(), reader->line_number(), status));
    }
  }
}

}  // namespace flywheel::data
