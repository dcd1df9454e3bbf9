// MessageLog: the engine's operator-facing notes (a torn log tail cut, a snapshot skipped, a
// control record that could not be applied, an automatic snapshot that failed), reported by
// EngineStats::recovery_messages. Any thread; its own mutex guards the list.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace flywheel::engine {

class MessageLog {
 public:
  void Add(std::string message) {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(message));
  }
  std::vector<std::string> All() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_;  // guarded by mu_
};

}  // namespace flywheel::engine
