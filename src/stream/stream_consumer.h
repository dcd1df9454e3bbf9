// StreamConsumer: feeds an Engine from a Redis Stream through a consumer group (doc/stream.md).
//
// The reader thread loops: XREADGROUP a batch (first this consumer's pending entries, from id 0,
// then new ones, ">"), decode each entry (entry_codec.h), apply them in stream order
// (entry_applier.h: each run of event entries one Engine::Ingest, catalogue entries between;
// durable under the engine's mode, and with interval durability it waits for durable_seq), park
// each refused entry in the dead-letter stream with its reason, and only then XACK every entry
// of the read, pipelined with the next read. No new entry is read while more than
// max_unapplied logged events wait for the learner. A crash between the log append and the XACK
// leaves the entries pending: they are read again on restart and the engine's dedup window drops
// the events already logged (ids are the events' own or "<entry id>/<index>"), so each event is
// applied exactly once. A Redis or log failure is retried after `retry_ms` from the pending
// entries, never acked before it is durable.
//
// The watcher thread publishes the version: for each ingested batch it waits until the
// engine's visible sequence number covers it, then sets AppliedId() to its last entry and
// records the lag of each of its entries (now - the entry id's milliseconds, i.e. from XADD to
// visible in recommendations).
//
// Threads: Start/Stop from the owner; Stats/AppliedId/WaitApplied from any thread. Locks:
// applied_mu_ guards the batches waiting to become visible and the applied id; counters are
// atomics; the Redis connection belongs to the reader thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "flywheel/engine.h"

#include "base/histogram.h"
#include "base/mutex.h"
#include "server/replication.h"
#include "stream/entry_codec.h"
#include "stream/redis_client.h"

namespace flywheel::stream {

struct StreamConsumerOptions {
  StreamAddress address;
  std::string group = "flywheel";
  std::string consumer = "flywheel-1";  // keep it stable across restarts (its pending entries)
  std::string dead_letter;              // "": "<stream>:dead"
  std::string start_id = "0";           // where a group created now starts ("$": new entries)
  int batch = 1000;                     // entries per read
  int block_ms = 100;                   // how long a read waits for new entries
  int retry_ms = 500;                   // back-off after a Redis or write failure
  int timeout_ms = 5000;                // connect and reply timeout (added to block_ms)
  // Flow control: no new entries are read while more events than this are logged but not yet
  // applied by the learner (the engine queues them in memory; Redis is the better buffer).
  uint64_t max_unapplied = 100'000;
  EntryLimits limits;
};

class StreamConsumer final : public server::StreamView {
 public:
  // Connects, creates the group (with the stream) when missing, starts the threads.
  static Result<std::unique_ptr<StreamConsumer>> Start(Engine* engine,
                                                       StreamConsumerOptions options);
  ~StreamConsumer() override;  // Stop()
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // Stops reading after the current batch, acknowledges what it logged, joins the threads.
  void Stop() EXCLUDES(applied_mu_);

  nlohmann::json Stats() const override EXCLUDES(applied_mu_);
  std::string AppliedId() const override EXCLUDES(applied_mu_);
  Status WaitApplied(std::string_view id, int timeout_ms) const override EXCLUDES(applied_mu_);

  std::string dead_letter_stream() const { return options_.dead_letter; }

  // The id of the newest entry whose events all have sequence numbers <= `seq` in this node's
  // log (what a snapshot at `seq` holds of the stream); "" when not known (nothing consumed
  // since start, or older than the last 100,000 reads).
  std::string EntryIdAt(uint64_t seq) const EXCLUDES(applied_mu_);

 private:
  struct Decoded;
  // An ingested batch on its way to becoming visible.
  struct InFlight {
    uint64_t last_seq = 0;    // 0: nothing new to wait for
    uint64_t logged_seq = 0;  // the log's last sequence number after this read
    uint64_t events = 0;      // new events logged by this read
    std::string last_id;
    std::vector<uint64_t> entry_ms;
  };

  StreamConsumer(Engine* engine, StreamConsumerOptions options);
  void ReadLoop();
  void WatchLoop() EXCLUDES(applied_mu_);
  // One read, ingest, dead-letter; the entries to ack are appended to ack_. A failure leaves the
  // batch unacked (pending) and is retried from id 0.
  Status Step();
  Status Read(Decoded* batch);
  std::vector<std::string> AckCommand() const;  // XACK of ack_
  Status Ingest(Decoded* batch, InFlight* flight);
  Status DeadLetter(const Decoded& batch);
  Status WaitDurable(uint64_t seq) const;
  // At start: when the group has no pending entry, everything up to its last delivered id is
  // in the local log.
  Status NoteStartPosition();
  // Waits while unapplied_ > max_unapplied (flow control); false when stopping.
  bool WaitForRoom() EXCLUDES(applied_mu_);
  void Fail(const Status& status);

  Engine* const engine_;
  const StreamConsumerOptions options_;
  std::unique_ptr<RedisClient> redis_;  // reader thread only
  bool read_pending_ = true;            // reader thread only: next read from id 0
  std::vector<std::string> ack_;        // reader thread only: to XACK with the next read
  std::atomic<bool> stop_{false};
  std::thread reader_;
  std::thread watcher_;

  mutable base::Mutex applied_mu_;
  mutable base::CondVar applied_cv_;
  std::deque<InFlight> in_flight_ GUARDED_BY(applied_mu_);
  uint64_t unapplied_ GUARDED_BY(applied_mu_) = 0;  // events of in_flight_
  std::string applied_id_ GUARDED_BY(applied_mu_) = "0-0";
  std::string read_id_ GUARDED_BY(applied_mu_) = "0-0";
  std::string last_error_ GUARDED_BY(applied_mu_);
  // (highest sequence number logged, last entry id) after each read, newest last.
  std::deque<std::pair<uint64_t, std::string>> covered_ GUARDED_BY(applied_mu_);
  bool watcher_stop_ GUARDED_BY(applied_mu_) = false;

  base::AtomicHistogram lag_;
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> catalog_{0};  // catalogue records applied
  std::atomic<uint64_t> dead_letters_{0};
  std::atomic<uint64_t> missing_{0};  // pending entries whose data was trimmed away
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace flywheel::stream
