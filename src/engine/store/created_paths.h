// CreatedPaths: undoes what a failed Engine::Open created, so that a failed first open (a model
// name typo, a bad option found late) leaves no half-made data directory behind.
//
// Open notes each path before it creates it; only paths that did not exist then are recorded.
// Unless Keep() is called, the destructor removes the recorded ones, newest first (a recorded
// directory with everything in it: this run created it while holding the directory's lock, so
// everything in it is this run's). Nothing that existed before is touched.
//
// Used by Engine::Open only (one thread).
#pragma once

#include <string>
#include <vector>

namespace flywheel::engine {

class CreatedPaths {
 public:
  CreatedPaths() = default;
  ~CreatedPaths();
  CreatedPaths(const CreatedPaths&) = delete;
  CreatedPaths& operator=(const CreatedPaths&) = delete;

  // Records `path` when nothing exists there yet (call before creating it).
  void Note(const std::string& path);
  // Open succeeded: keep everything.
  void Keep() { paths_.clear(); }

 private:
  std::vector<std::string> paths_;
};

}  // namespace flywheel::engine
