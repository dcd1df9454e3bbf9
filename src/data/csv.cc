#include "data/csv.h"

#include <algorithm>

namespace flywheel::data {
namespace {

// Parses a quoted field starting after its opening quote at line[*pos]; leaves *pos at the
// character after the closing quote.
Status ParseQuoted(std::string_view line, size_t* pos, std::string* out) {
  size_t i = *pos;
  while (i < line.size()) {
    const char c = line[i];
    if (c != '"') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < line.size() && line[i + 1] == '"') {
      out->push_back('"');
      i += 2;
      continue;
    }
    *pos = i + 1;
    return Status::Ok();
  }
  return Status::InvalidArgument("unterminated quoted field");
}

}  // namespace

Status SplitCsvLine(std::string_view line, char sep, std::vector<std::string>* fields) {
  size_t count = 0;
  size_t pos = 0;
  while (true) {
    if (count == fields->size()) {
      fields->emplace_back();
    }
    std::string& field = (*fields)[count++];
    field.clear();
    if (pos < line.size() && line[pos] == '"') {
      ++pos;
      Status status = ParseQuoted(line, &pos, &field);
      if (!status.ok()) {
        return status;
      }
      if (pos < line.size() && line[pos] != sep) {
        return Status::InvalidArgument("unexpected character after closing quote at column " +
                                       std::to_string(pos + 1));
      }
    } else {
      const size_t end = std::min(line.find(sep, pos), line.size());
      field.assign(line.substr(pos, end - pos));
      pos = end;
    }
    if (pos >= line.size()) {
      break;
    }
    ++pos;  // the separator
  }
  fields->resize(count);
  return Status::Ok();
}

}  // namespace flywheel::data
