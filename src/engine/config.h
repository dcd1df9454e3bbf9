// The data directory's fixed parts (doc/engine.md, "Data directory"): the model configuration
// D/engine.json, written once when the directory is created and checked on every later open,
// and the advisory lock D/LOCK that keeps a second engine out.
//
// Called by Engine::Open only (one thread); no state is shared.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"
#include "flywheel/result.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

inline constexpr char kConfigFileName[] = "engine.json";

// The models as stored in engine.json and in a snapshot's meta section.
nlohmann::json ModelsToJson(const std::vector<ModelSpec>& models);
// kCorruption naming what is wrong.
Result<std::vector<ModelSpec>> ModelsFromJson(const nlohmann::json& j);
bool SameModels(const std::vector<ModelSpec>& a, const std::vector<ModelSpec>& b);
std::string DescribeModels(const std::vector<ModelSpec>& models);

// Returns the models of the directory `dir`. A new directory gets `requested` (or {"pop"} when
// empty), validated by `validate` before engine.json is written (unless read_only); an existing
// one must hold `requested` when that is non-empty (kFailedPrecondition otherwise). A model named
// twice is kInvalidArgument.
Result<std::vector<ModelSpec>> LoadOrWriteConfig(
    io::Env* env, const std::string& dir, const std::vector<ModelSpec>& requested,
    const std::function<Status(const std::vector<ModelSpec>&)>& validate);

// The event-type spec of the directory `dir` (engine.json's "event_types", "" when absent), after
// `requested` (EngineOptions::event_types) is applied: an empty request keeps the stored spec; a
// different one must keep every stored type at its position (kFailedPrecondition naming the
// first that moved or vanished) and is written to engine.json (unless read_only).
// REQUIRES: engine.json exists (LoadOrWriteConfig ran).
Result<std::string> LoadOrWriteEventTypes(io::Env* env, const std::string& dir,
                                          const std::string& requested, bool read_only);

// Exclusive advisory lock on D/LOCK for the life of the engine (a second process is refused).
// `read_only`: an existing LOCK is opened read-only (flock needs no write access), so a
// read-only open works on a full or read-only file system.
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir, bool read_only = false);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace flywheel::engine
