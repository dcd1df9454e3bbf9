// MessageLog: the engine's operator-facing notes (a torn log tail cut, a snapshot skipped, a
// control record that could not be applied, an automatic snapshot that failed), reported by
// EngineStats::recovery_messages. Any thread; its own mutex guards the list.
#pragma once

#include <string>
#include <vector>

#include "base/mutex.h"

namespace flywheel::engine {

class MessageLog {
 public:
  void Add(std::string message) EXCLUDES(mu_) {
    base::MutexLock lock(&mu_);
    messages_.push_back(std::move(message));
  }
  std::vector<std::string> All() const EXCLUDES(mu_) {
    base::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  mutable base::Mutex mu_;
  std::vector<std::string> messages_ GUARDED_BY(mu_);
};

}  // namespace flywheel::engine
