// Delta replication over Redis (doc/stream.md, "Delta mode").
//
// DeltaPublisher (trainer): every rows_ms it exports what the models learned since the last
// export (Engine::ExportModelDeltas: the changed rows; every dense_ms the dense weights too;
// every full_s everything) and appends one entry per model to `<STREAM>:deltas`:
//   model <name>  index <position>  kind rows|dense|full  version <entry id>  seq <n>  data <bytes>
// `version` is the event stream entry the state had fully applied (read before the export, so
// every event of it and of the entries before is in the delta). After a full entry it sets the
// key `<STREAM>:deltas:full` to the full entry's id and trims the delta stream to the previous
// full entry (XTRIM MINID), so a replica starting from the newest full entry always finds every
// entry after it. An export without changes is appended only when the
// version moved.
//
// DeltaApplier (replica, whose engine has model_learning off): reads `<STREAM>:deltas` with
// XREAD from the newest full entry (the key), and applies each entry once its own event
// consumer has applied the entry's version (StreamView::WaitApplied), so the rows never refer
// to events it has not seen. A refused delta (malformed, another model) is counted and logged
// in Stats; the rows it carried are refreshed by the next delta that touches them or the next
// full one.
//
// Threads: each runs one thread with its own Redis connection; Stats from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"

#include "base/histogram.h"
#include "base/mutex.h"
#include "server/replication.h"
#include "stream/redis_client.h"

namespace flywheel::stream {

// "<STREAM>:deltas" and "<STREAM>:deltas:full".
std::string DeltaStreamKey(const StreamAddress& events);
std::string DeltaFullKey(const StreamAddress& events);

struct DeltaPublisherOptions {
  StreamAddress address;  // the event stream (the deltas go next to it)
  int rows_ms = 100;      // export period
  int dense_ms = 1000;    // the dense weights at most this often
  int full_s = 60;        // a full export this often (the delta stream is trimmed behind it)
  int timeout_ms = 5000;
};

class DeltaPublisher {
 public:
  // `events`: the trainer's event consumer (its AppliedId is the deltas' version).
  static Result<std::unique_ptr<DeltaPublisher>> Start(Engine* engine,
                                                       const server::StreamView* events,
                                                       DeltaPublisherOptions options);
  ~DeltaPublisher();
  DeltaPublisher(const DeltaPublisher&) = delete;
  DeltaPublisher& operator=(const DeltaPublisher&) = delete;

  // Publishes what is pending now (dense included) and stops the thread. Idempotent.
  void Stop() EXCLUDES(mu_);
  // Exports and publishes once now (the thread does this every rows_ms). Thread-safe.
  Status PublishNow(bool dense, bool full) EXCLUDES(mu_);
  nlohmann::json Stats() const EXCLUDES(mu_);

 private:
  DeltaPublisher(Engine* engine, const server::StreamView* events, DeltaPublisherOptions options,
                 std::unique_ptr<RedisClient> redis);
  void Loop() EXCLUDES(mu_);
  Status PublishLocked(bool dense, bool full) REQUIRES(mu_);
  // After a full entry `id`: the key names it, the stream is trimmed to the previous one.
  void NewFullLocked(const std::string& id) REQUIRES(mu_);

  Engine* const engine_;
  const server::StreamView* const events_;
  const DeltaPublisherOptions options_;
  const std::string key_, full_key_;
  mutable base::Mutex mu_;  // the connection, the last full id and the stop flag
  base::CondVar cv_;
  std::unique_ptr<RedisClient> redis_ GUARDED_BY(mu_);
  std::string last_full_ GUARDED_BY(mu_);
  std::string last_id_ GUARDED_BY(mu_);  // the newest entry appended
  std::string last_error_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool need_full_ GUARDED_BY(mu_) = false;  // a failed publication lost the change marks
  // Entries carry (epoch, n): this run's random epoch and 0, 1, 2...; a replica that sees n
  // jump knows it missed entries (trimmed) and starts again from the newest full entry.
  const std::string epoch_;
  uint64_t next_n_ GUARDED_BY(mu_) = 0;
  // The version of the last publication: an export with no change is still published when the
  // version moved (the events applied since changed nothing, or an earlier export already held
  // them), so a replica learns that its parameters are current up to it.
  std::string last_version_ GUARDED_BY(mu_);
  std::atomic<uint64_t> entries_{0}, full_{0}, dense_{0}, rows_{0}, bytes_{0}, failures_{0};
  base::AtomicHistogram export_ms_;  // export + XADD per publication
  std::thread thread_;
};

struct DeltaApplierOptions {
  StreamAddress address;  // the event stream (the deltas are next to it)
  int block_ms = 100;
  int retry_ms = 500;
  int timeout_ms = 5000;
};

class DeltaApplier {
 public:
  // `events`: this replica's event consumer.
  static Result<std::unique_ptr<DeltaApplier>> Start(Engine* engine,
                                                     const server::StreamView* events,
                                                     DeltaApplierOptions options);
  ~DeltaApplier();
  DeltaApplier(const DeltaApplier&) = delete;
  DeltaApplier& operator=(const DeltaApplier&) = delete;

  void Stop();
  // Waits until a delta holding `version` is applied (Stats()["version"] >= version).
  // kDeadlineExceeded after timeout_ms.
  Status WaitVersion(std::string_view version, int timeout_ms) const EXCLUDES(mu_);
  nlohmann::json Stats() const EXCLUDES(mu_);

 private:
  DeltaApplier(Engine* engine, const server::StreamView* events, DeltaApplierOptions options);
  void Loop();
  // Reads and applies one batch after last_id; false when stopping.
  bool Step(RedisClient* redis, std::string* last_id);
  Status ApplyEntry(const RedisReply& entry);
  void Fail(const std::string& error) EXCLUDES(mu_);

  Engine* const engine_;
  const server::StreamView* const events_;
  const DeltaApplierOptions options_;
  const std::string key_, full_key_;
  std::atomic<bool> stop_{false};
  mutable base::Mutex mu_;
  mutable base::CondVar cv_;
  std::string applied_version_ GUARDED_BY(mu_) = "0-0";
  std::string read_id_ GUARDED_BY(mu_) = "0-0";  // the newest delta entry applied or refused
  std::string last_error_ GUARDED_BY(mu_);
  std::atomic<uint64_t> entries_{0}, full_{0}, refused_{0}, bytes_{0}, failures_{0}, gaps_{0};
  std::string epoch_;                   // reader thread: the publisher run of the last entry read
  uint64_t last_n_ = 0;                 // and its n
  base::AtomicHistogram model_lag_ms_;  // now - the version's XADD time, when applied
  // now - the previous version's XADD time: an upper bound on the wait of the oldest event a
  // delta brings (events between two versions wait for the next delta).
  base::AtomicHistogram oldest_lag_ms_;
  uint64_t previous_ms_ = 0;        // reader thread
  base::AtomicHistogram apply_ms_;  // Engine::ApplyModelDelta
  std::thread thread_;
};

}  // namespace flywheel::stream
