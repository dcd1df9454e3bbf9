// Bootstrapping a new replica from the trainer's latest snapshot (doc/stream.md, "A new
// replica").
//
// Trainer side, TrainerBootstrap (GET /v1/admin/replica/bootstrap and .../files/{name}): writes
// a snapshot (Engine::Snapshot), finds the newest stream entry whose events are all in it
// (StreamConsumer::EntryIdAt) and serves the two files a data directory needs, engine.json and
// the snapshot. Replica side, BootstrapReplica: when its data directory has no engine.json yet,
// it fetches those files over HTTP into it, then creates (or moves) its consumer group at that
// entry, so that its consumer reads exactly the entries after the snapshot. An entry whose events
// the snapshot holds only in part is read again and its logged events are dropped by the dedup
// window, which the snapshot carries: the replica's sequence numbers stay the trainer's.
//
// Threads: TrainerBootstrap is called from HTTP workers (Engine is thread-safe; the files are
// read-only once written). BootstrapReplica runs once, before the engine opens.
#pragma once

#include <string>

#include "flywheel/engine.h"

#include "server/replication.h"
#include "stream/redis_client.h"
#include "stream/stream_consumer.h"

namespace flywheel::stream {

class TrainerBootstrap final : public server::BootstrapSource {
 public:
  TrainerBootstrap(Engine* engine, std::string data_dir, const StreamConsumer* consumer)
      : engine_(engine), data_dir_(std::move(data_dir)), consumer_(consumer) {}
  Result<nlohmann::json> Prepare() override;
  Result<std::string> ReadFile(std::string_view name) const override;

 private:
  Engine* const engine_;
  const std::string data_dir_;
  const StreamConsumer* const consumer_;
};

// `trainer_url`: http://HOST:PORT of the trainer; `key`: its admin key ("" without keys).
// Returns the manifest's stream id, or "" when `data_dir` already holds a data directory
// (nothing done). The group `group` on `address` starts after that id.
Result<std::string> BootstrapReplica(const std::string& trainer_url, const std::string& key,
                                     const std::string& data_dir, const StreamAddress& address,
                                     const std::string& group);

// "snap-<seq, 20 digits>.fws", the engine's snapshot file name (doc/formats/snapshot.md).
std::string SnapshotFileName(uint64_t seq);

}  // namespace flywheel::stream
