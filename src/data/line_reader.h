// LineReader: reads a text file line by line, transparently decompressing gzip (.gz or any
// gzip-magic file) through zlib. Lines are returned without the trailing '\n' (a '\r' is kept:
// use base::StripCr for CRLF files). Constant memory apart from the longest line.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "flywheel/result.h"

namespace flywheel::data {

class LineReader {
 public:
  // kNotFound when the file does not exist, kIoError when it cannot be opened.
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into *line. true: a line was read; false: end of file; error: I/O or
  // decompression failure (kIoError / kCorruption naming the file).
  Result<bool> ReadLine(std::string* line);

  // 1-based number of the line last returned (0 before the first).
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  // The base name of the file, for messages ("u.data:12: ...").
  std::string name() const;

 private:
  explicit LineReader(std::string path, void* gz) : path_(std::move(path)), gz_(gz) {}
  std::string path_;
  void* gz_;  // gzFile
  int64_t line_number_ = 0;
  bool eof_ = false;
};

}  // namespace flywheel::data
