#include "data/line_reader.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <zlib.h>

#include "base/strings.h"

namespace flywheel::data {

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("data: cannot open '" + path + "': " + base::ErrnoString(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("data: '" + path + "' is a directory, expected a file");
  }
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return Status::IoError("data: cannot open '" + path + "': " + base::ErrnoString(errno));
  }
  gzbuffer(gz, 1 << 17);
  return std::unique_ptr<LineReader>(new LineReader(path, gz));
}

LineReader::~LineReader() {
  gzclose(static_cast<gzFile>(gz_));
}

std::string LineReader::name() const {
  const size_t slash = path_.find_last_of('/');
  return slash == std::string::npos ? path_ : path_.substr(slash + 1);
}

Result<bool> LineReader::ReadLine(std::string* line) {
  line->clear();
  if (eof_) {
    return false;
  }
  auto* gz = static_cast<gzFile>(gz_);
  char buf[8192];
  while (true) {
    if (gzgets(gz, buf, sizeof(buf)) == nullptr) {
      int err = 0;
      const char* msg = gzerror(gz, &err);
      if (err != Z_OK && err != Z_STREAM_END) {
        return Status::Corruption("data: " + name() + ": read failed after line " +
                                  std::to_string(line_number_) + ": " + msg);
      }
      eof_ = true;
      if (line->empty()) {
        return false;
      }
      ++line_number_;  // last line without '\n'
      return true;
    }
    const size_t len = std::strlen(buf);
    if (len > 0 && buf[len - 1] == '\n') {
      line->append(buf, len - 1);
      ++line_number_;
      return true;
    }
    line->append(buf, len);
  }
}

}  // namespace flywheel::data
