#include "stream/stream_producer.h"

#include "stream/entry_codec.h"

namespace flywheel::stream {

Result<std::unique_ptr<StreamProducer>> StreamProducer::Connect(const StreamAddress& address,
                                                                int timeout_ms) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis,
                            RedisClient::Connect(address, timeout_ms));
  return std::unique_ptr<StreamProducer>(new StreamProducer(address, std::move(redis)));
}

Result<std::string> StreamProducer::AppendEvents(const std::vector<std::string>& events) {
  EntryFields fields = EncodeEntry(events);
  return Append(fields.front().first, std::move(fields.front().second));
}

Result<std::string> StreamProducer::Append(std::string_view field, std::string value) {
  const std::vector<std::string> xadd = {"XADD", address_.stream, "*", std::string(field),
                                         std::move(value)};
  base::MutexLock lock(&mu_);
  // A broken connection is reopened once and the XADD sent again. XADD is not idempotent: if the
  // first one reached Redis before the connection broke, the entry is there twice. Events carry
  // ids (POST /v1/events gives one to each event without), so consumers apply them once; a
  // repeated catalogue entry is applied again (a put leaves the same state; a delete or forget
  // finds nothing left, and a refused entry is dead-lettered).
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (redis_->broken()) {
      FLYWHEEL_RETURN_IF_ERROR(redis_->Reconnect());
    }
    Result<RedisReply> reply = redis_->Command(xadd);
    if (reply.ok()) {
      if (reply->type != RedisReply::Type::kString) {
        return Status::Internal("redis XADD: unexpected reply");
      }
      return reply->str;
    }
    if (!redis_->broken()) {
      return Status::Unavailable(reply.status().message());
    }
  }
  return Status::Unavailable("redis " + address_.ToString() + ": XADD failed twice");
}

}  // namespace flywheel::stream
