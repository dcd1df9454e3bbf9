#include "stream/bootstrap.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/http_client.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool IsSnapshotName(std::string_view name) {
  if (name.size() != 29 || !name.starts_with("snap-") || !name.ends_with(".fws")) {
    return false;
  }
  for (const char c : name.substr(5, 20)) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::NotFound("cannot read " + path.string());
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

Status WriteWhole(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    out.flush();
    if (!out.good()) {
      return Status::IoError("cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return ec ? Status::IoError("cannot rename " + tmp.string() + ": " + ec.message()) : Status::Ok();
}

Result<std::string> Fetch(client::HttpClient* http, const std::string& target) {
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response res, http->Get(target));
  if (res.status != 200) {
    return Status::Unavailable("bootstrap: GET " + target + " answered " +
                               std::to_string(res.status) + ": " + res.body.substr(0, 300));
  }
  return std::move(res.body);
}

}  // namespace

std::string SnapshotFileName(uint64_t seq) {
  char name[40];
  std::snprintf(name, sizeof(name), "snap-%020llu.fws", static_cast<unsigned long long>(seq));
  return name;
}

Result<json> TrainerBootstrap::Prepare() {
  FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t seq, engine_->Snapshot());
  const std::string id = consumer_->EntryIdAt(seq);
  if (id.empty()) {
    return Status::Unavailable("the stream position of snapshot " + std::to_string(seq) +
                               " is not known yet (nothing consumed since start): retry once "
                               "the trainer consumed an entry");
  }
  json files = json::array();
  for (const std::string& name : {std::string("engine.json"), SnapshotFileName(seq)}) {
    std::error_code ec;
    const fs::path path = name == "engine.json" ? fs::path(data_dir_) / name
                                                : fs::path(data_dir_) / "snapshots" / name;
    const auto bytes = fs::file_size(path, ec);
    if (ec) {
      return Status::Internal("bootstrap: " + path.string() + ": " + ec.message());
    }
    files.push_back({{"name", name}, {"bytes", bytes}});
  }
  return json{{"snapshot_seq", seq}, {"stream_id", id}, {"files", files}};
}

Result<std::string> TrainerBootstrap::ReadFile(std::string_view name) const {
  if (name == "engine.json") {
    return ReadWhole(fs::path(data_dir_) / "engine.json");
  }
  if (!IsSnapshotName(name)) {
    return Status::NotFound("no bootstrap file '" + std::string(name) +
                            "' (engine.json or snap-<seq>.fws)");
  }
  return ReadWhole(fs::path(data_dir_) / "snapshots" / std::string(name));
}

Result<std::string> BootstrapReplica(const std::string& trainer_url, const std::string& key,
                                     const std::string& data_dir, const StreamAddress& address,
                                     const std::string& group) {
  if (fs::exists(fs::path(data_dir) / "engine.json")) {
    return std::string();
  }
  FLYWHEEL_ASSIGN_OR_RETURN(client::Url url, client::ParseUrl(trainer_url));
  client::ClientOptions options;
  options.host = url.host;
  options.port = url.port;
  options.bearer_token = key;
  options.request_timeout_ms = 600'000;
  options.max_response_bytes = 64ull << 30;
  client::HttpClient http(options);
  FLYWHEEL_ASSIGN_OR_RETURN(std::string text,
                            Fetch(&http, url.prefix + "/v1/admin/replica/bootstrap"));
  const json manifest = json::parse(text, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("stream_id") || !manifest.contains("files")) {
    return Status::Unavailable("bootstrap: the trainer's manifest is not one: " +
                               text.substr(0, 300));
  }
  const std::string id = manifest["stream_id"].get<std::string>();
  std::error_code ec;
  fs::create_directories(fs::path(data_dir) / "snapshots", ec);
  if (ec) {
    return Status::IoError("bootstrap: cannot create " + data_dir + ": " + ec.message());
  }
  // The snapshot first, engine.json last: a directory with engine.json is a bootstrapped one.
  std::vector<json> files(manifest["files"].begin(), manifest["files"].end());
  std::stable_partition(files.begin(), files.end(),
                        [](const json& f) { return f["name"] != "engine.json"; });
  for (const json& file : files) {
    const std::string name = file["name"].get<std::string>();
    if (name != "engine.json" && !IsSnapshotName(name)) {
      return Status::Unavailable("bootstrap: unexpected file '" + name + "' in the manifest");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(std::string bytes,
                              Fetch(&http, url.prefix + "/v1/admin/replica/files/" + name));
    if (bytes.size() != file["bytes"].get<uint64_t>()) {
      return Status::Unavailable("bootstrap: " + name + " arrived with " +
                                 std::to_string(bytes.size()) + " bytes, not " +
                                 file["bytes"].dump());
    }
    const fs::path path =
        name == "engine.json" ? fs::path(data_dir) / name : fs::path(data_dir) / "snapshots" / name;
    FLYWHEEL_RETURN_IF_ERROR(WriteWhole(path, bytes));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis,
                            RedisClient::Connect(address, 5000));
  // A group of that name left from an earlier replica goes: its pending entries belong to a
  // data directory that is not this one.
  (void)redis->Command({"XGROUP", "DESTROY", address.stream, group});
  FLYWHEEL_RETURN_IF_ERROR(
      redis->Command({"XGROUP", "CREATE", address.stream, group, id, "MKSTREAM"}).status());
  return id;
}

}  // namespace flywheel::stream
