#include "eval/fit_cache.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/crc32c.h"
#include "base/random.h"
#include "base/serial.h"

namespace flywheel::eval::internal {
namespace {

uint32_t EventsCrc(std::span<const data::Interaction> events) {
  uint32_t crc = 0;
  std::string buf;
  base::ByteWriter w(&buf);
  for (const data::Interaction& e : events) {
    buf.clear();
    w.Put<uint32_t>(e.user);
    w.Put<uint32_t>(e.item);
    w.Put<int64_t>(e.ts_ms);
    w.Put<float>(e.value);
    w.Put<float>(e.weight);
    w.Put<uint32_t>(e.type);
    crc = base::crc32c::Extend(crc, buf.data(), buf.size());
  }
  return crc;
}

std::string KeyOf(const data::Dataset& dataset, std::span<const data::Interaction> events,
                  const model::Recommender& model) {
  nlohmann::json key;
  key["format"] = 1;
  key["dataset"] = dataset.name;
  key["events"] = events.size();
  key["events_crc32c"] = EventsCrc(events);
  key["model"] = model.name();
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : model.params()) {
    if (!model.OnlineOnlyParam(name)) {
      params[name] = value;
    }
  }
  key["params"] = params;
  return key.dump();
}

std::string FileFor(const std::string& dir, const std::string& model, const std::string& key) {
  const uint64_t h =
      base::Mix64((static_cast<uint64_t>(base::crc32c::Value(key)) << 32) ^ key.size());
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return (std::filesystem::path(dir) / (model + "-" + hex + ".fit")).string();
}

enum class Lookup { kMiss, kHit, kBroken };

// kHit when `path` holds a state saved under `key` and it loaded into `model`; kMiss when there
// is no such file or it was saved under another key (the model is untouched); kBroken when the
// key matched but the state did not load (the model may be half-written).
Lookup TryLoad(const std::string& path, const std::string& key, model::Recommender* model) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Lookup::kMiss;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  base::ByteReader r(bytes, path);
  std::string stored;
  if (!r.GetString(&stored, "fit cache key").ok() || stored != key) {
    return Lookup::kMiss;
  }
  return model->LoadState(&r).ok() ? Lookup::kHit : Lookup::kBroken;
}

}  // namespace

Status FitWithCache(const std::string& dir, const data::Dataset& dataset,
                    std::span<const data::Interaction> events, model::Recommender* model,
                    nlohmann::json* info) {
  if (dir.empty()) {
    return model->Fit(events);
  }
  const std::string key = KeyOf(dataset, events, *model);
  const std::string path = FileFor(dir, model->name(), key);
  if (info != nullptr) {
    *info = {{"file", path}, {"hit", false}};
  }
  switch (TryLoad(path, key, model)) {
    case Lookup::kHit:
      if (info != nullptr) {
        (*info)["hit"] = true;
      }
      return Status::Ok();
    case Lookup::kBroken:
      return Status::Corruption("fit cache: " + path + " does not load; remove it to refit");
    case Lookup::kMiss:
      break;
  }
  FLYWHEEL_RETURN_IF_ERROR(model->Fit(events));
  std::string bytes;
  base::ByteWriter w(&bytes);
  w.PutString(key);
  const Status saved = model->SaveState(&w);
  if (saved.code() == StatusCode::kUnimplemented) {
    return Status::Ok();  // nothing to cache for this model
  }
  FLYWHEEL_RETURN_IF_ERROR(saved);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
      return Status::IoError("fit cache: cannot write " + tmp);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return Status::IoError("fit cache: cannot rename " + tmp + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace flywheel::eval::internal
