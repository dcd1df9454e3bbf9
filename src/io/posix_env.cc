// PosixEnv: Env over POSIX syscalls (open/write/fdatasync/rename/...). Stateless apart from
// the descriptors owned by the files it returns, so one instance serves the whole process.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strings.h"
#include "io/env.h"

namespace flywheel::io {
namespace {

Status PosixError(std::string_view what, const std::string& path, int err) {
  std::string message = "io: " + std::string(what) + " " + path + ": " + base::ErrnoString(err);
  if (err == ENOENT) {
    return Status::NotFound(message);
  }
  if (err == ENOSPC || err == EDQUOT) {
    return Status::ResourceExhausted(message);
  }
  return Status::IoError(message);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }

  Status Append(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t done = ::write(fd_, data.data(), data.size());
      if (done < 0) {
        if (errno == EINTR) {
          continue;
        }
        return PosixError("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(done));
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) {
      return Status::IoError("io: fdatasync failed on " + path_ + ": " + base::ErrnoString(errno) +
                             " (fatal: written data may be lost)");
    }
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) {
      return Status::FailedPrecondition("io: " + path_ + " already closed");
    }
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? Status::Ok() : PosixError("close", path_, errno);
  }

 private:
  std::string path_;
  int fd_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Result<size_t> Read(size_t n, char* scratch) override {
    for (;;) {
      const ssize_t got = ::read(fd_, scratch, n);
      if (got >= 0) {
        return static_cast<size_t>(got);
      }
      if (errno != EINTR) {
        return PosixError("read", path_, errno);
      }
    }
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return PosixError("open", path, errno);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  Result<std::unique_ptr<SequentialFile>> OpenSequential(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return PosixError("open", path, errno);
    }
    return std::unique_ptr<SequentialFile>(new PosixSequentialFile(path, fd));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename to " + to + " from", from, errno);
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    return ::unlink(path.c_str()) == 0 ? Status::Ok() : PosixError("unlink", path, errno);
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) {
      return PosixError("opendir", dir, errno);
    }
    std::vector<std::string> names;
    // readdir is thread-safe for distinct DIR streams (glibc); this one is local.
    while (const dirent* entry = ::readdir(handle)) {  // NOLINT(concurrency-mt-unsafe)
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") {
        names.emplace_back(name);
      }
    }
    ::closedir(handle);
    std::sort(names.begin(), names.end());
    return names;
  }

  Status CreateDir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Status::IoError("io: mkdir " + dir + ": " + ec.message());
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return PosixError("open directory", dir, errno);
    }
    const int result = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (result != 0) {
      return Status::IoError("io: fdatasync failed on directory " + dir + ": " +
                             base::ErrnoString(err) + " (fatal)");
    }
    return Status::Ok();
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      return PosixError("stat", path, errno);
    }
    return static_cast<uint64_t>(info.st_size);
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      return PosixError("open", path, errno);
    }
    Status status;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = PosixError("ftruncate", path, errno);
    } else if (::fdatasync(fd) != 0) {
      status = Status::IoError("io: fdatasync failed on " + path + ": " + base::ErrnoString(errno));
    }
    ::close(fd);
    return status;
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
};

}  // namespace

Env* Env::Default() {
  static Env* const kEnv = new PosixEnv();
  return kEnv;
}

}  // namespace flywheel::io
