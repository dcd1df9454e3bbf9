#include "engine/config.h"

#include <functional>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "flywheel/event_types.h"

#include "engine/store/snapshot_file.h"
#include "io/env.h"

namespace flywheel::engine {

using nlohmann::json;

namespace {
constexpr int kConfigVersion = 1;

Status CheckNoDuplicates(const std::vector<ModelSpec>& models) {
  for (size_t i = 0; i < models.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (models[i].name == models[j].name) {
        return Status::InvalidArgument("engine: model '" + models[i].name +
                                       "' is configured twice");
      }
    }
  }
  return Status::Ok();
}
}  // namespace

json ModelsToJson(const std::vector<ModelSpec>& models) {
  json out = json::array();
  for (const ModelSpec& m : models) {
    json params = json::object();
    for (const auto& [k, v] : m.params) {
      params[k] = v;
    }
    out.push_back({{"name", m.name}, {"params", params}});
  }
  return out;
}

Result<std::vector<ModelSpec>> ModelsFromJson(const json& j) {
  if (!j.is_array() || j.empty()) {
    return Status::Corruption("engine.json: 'models' must be a non-empty array");
  }
  std::vector<ModelSpec> models;
  for (const json& m : j) {
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
      return Status::Corruption("engine.json: every model needs a string 'name'");
    }
    ModelSpec spec;
    spec.name = m["name"].get<std::string>();
    if (m.contains("params")) {
      if (!m["params"].is_object()) {
        return Status::Corruption("engine.json: 'params' must be an object");
      }
      for (const auto& [k, v] : m["params"].items()) {
        if (!v.is_string()) {
          return Status::Corruption("engine.json: parameter values must be strings");
        }
        spec.params[k] = v.get<std::string>();
      }
    }
    models.push_back(std::move(spec));
  }
  return models;
}

bool SameModels(const std::vector<ModelSpec>& a, const std::vector<ModelSpec>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].params != b[i].params) {
      return false;
    }
  }
  return true;
}

std::string DescribeModels(const std::vector<ModelSpec>& models) {
  return ModelsToJson(models).dump();
}

Result<std::vector<ModelSpec>> LoadOrWriteConfig(
    io::Env* env, const std::string& dir, const std::vector<ModelSpec>& requested,
    const std::function<Status(const std::vector<ModelSpec>&)>& validate) {
  const std::string path = io::JoinPath(dir, kConfigFileName);
  std::vector<ModelSpec> models;
  if (env->FileExists(path)) {
    std::string text;
    FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env, path, &text));
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("models")) {
      return Status::Corruption("engine: " + path + " is not a valid engine configuration");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(models, ModelsFromJson(doc["models"]));
    if (!requested.empty() && !SameModels(requested, models)) {
      return Status::FailedPrecondition(
          "engine: data directory was created with models " + DescribeModels(models) + " but " +
          DescribeModels(requested) +
          " were requested; use the same models or a new data directory");
    }
  } else {
    models = requested;
    if (models.empty()) {
      models.push_back(ModelSpec{"pop", {}});
    }
    // Validate before persisting: a typo must not be written into the directory.
    FLYWHEEL_RETURN_IF_ERROR(CheckNoDuplicates(models));
    FLYWHEEL_RETURN_IF_ERROR(validate(models));
    const json doc = {{"version", kConfigVersion}, {"models", ModelsToJson(models)}};
    FLYWHEEL_RETURN_IF_ERROR(WriteFileAtomically(env, dir, kConfigFileName, doc.dump(2) + "\n"));
  }
  FLYWHEEL_RETURN_IF_ERROR(CheckNoDuplicates(models));
  return models;
}

Result<std::string> LoadOrWriteEventTypes(io::Env* env, const std::string& dir,
                                          const std::string& requested, bool read_only) {
  const std::string path = io::JoinPath(dir, kConfigFileName);
  std::string text;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env, path, &text));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Corruption("engine: " + path + " is not a valid engine configuration");
  }
  std::string stored;
  if (doc.contains("event_types")) {
    if (!doc["event_types"].is_string()) {
      return Status::Corruption("engine.json: 'event_types' must be a string");
    }
    stored = doc["event_types"].get<std::string>();
  }
  if (requested.empty() || requested == stored) {
    return stored;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable old_table, EventTypeTable::Parse(stored));
  FLYWHEEL_ASSIGN_OR_RETURN(EventTypeTable new_table, EventTypeTable::Parse(requested));
  for (size_t id = 0; id < old_table.size(); ++id) {
    const std::string& name = old_table.type(static_cast<EventTypeId>(id)).name;
    if (id >= new_table.size() || new_table.type(static_cast<EventTypeId>(id)).name != name) {
      return Status::FailedPrecondition(
          "engine: data directory has event types '" + stored + "' but '" + requested +
          "' was requested: type '" + name +
          "' must keep its place (add new types after the stored ones, in the same order)");
    }
  }
  if (!read_only) {
    doc["event_types"] = requested;
    FLYWHEEL_RETURN_IF_ERROR(WriteFileAtomically(env, dir, kConfigFileName, doc.dump(2) + "\n"));
  }
  return requested;
}

Result<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir, bool read_only) {
  const std::string path = io::JoinPath(dir, "LOCK");
  int fd = read_only ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd < 0) {
    return Status::IoError("engine: cannot open " + path);
  }
  // flock: held per open file description, so a second Open in the same process is refused
  // too (fcntl locks would not see it).
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::FailedPrecondition("engine: data directory " + dir +
                                      " is in use by another process (LOCK is held)");
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() {
  ::close(fd_);
}

}  // namespace flywheel::engine
