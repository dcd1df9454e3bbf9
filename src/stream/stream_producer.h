// StreamProducer: producer mode (doc/stream.md): POST /v1/events (and the catalogue writes) on
// this node append each validated batch to a Redis Stream as one entry (entry_codec.h) instead of
// the local log. The
// 202 is sent once XADD returned the entry id: the event is then as durable as the Redis
// server's persistence makes it (appendfsync always: on disk; everysec: within a second).
// The stream is never trimmed by the producer.
//
// Threads: Append from any HTTP worker; one connection under a mutex (XADD is one round trip),
// reconnected once when it turns out broken.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "server/replication.h"
#include "stream/redis_client.h"

namespace flywheel::stream {

class StreamProducer final : public server::EventSink {
 public:
  static Result<std::unique_ptr<StreamProducer>> Connect(const StreamAddress& address,
                                                         int timeout_ms);
  Result<std::string> Append(std::string_view field, std::string value) override EXCLUDES(mu_);
  // The entry of EncodeEntry(events).
  Result<std::string> AppendEvents(const std::vector<std::string>& events) override;
  std::string Describe() const override { return address_.ToString(); }

 private:
  StreamProducer(StreamAddress address, std::unique_ptr<RedisClient> redis)
      : address_(std::move(address)), redis_(std::move(redis)) {}

  const StreamAddress address_;
  base::Mutex mu_;
  std::unique_ptr<RedisClient> redis_ GUARDED_BY(mu_);
};

}  // namespace flywheel::stream
