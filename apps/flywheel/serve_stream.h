// The stream part of `flywheel serve` (doc/stream.md): the producer that POST /v1/events
// appends to, and the consumer that feeds the engine from stream.source.
#pragma once

#include <memory>

#include "flywheel/engine.h"

#include "server/serve_config.h"
#include "stream/bootstrap.h"
#include "stream/delta_stream.h"
#include "stream/stream_consumer.h"
#include "stream/stream_producer.h"

namespace flywheel::cli {

// What GET /v1/replication shows of a node: its consumer's view, with its delta publisher's or
// applier's statistics under "deltas" and the replication mode.
class NodeView final : public server::StreamView {
 public:
  NodeView(const stream::StreamConsumer* consumer, const stream::DeltaPublisher* publisher,
           const stream::DeltaApplier* applier)
      : consumer_(consumer), publisher_(publisher), applier_(applier) {}
  nlohmann::json Stats() const override;
  std::string AppliedId() const override { return consumer_->AppliedId(); }
  Status WaitApplied(std::string_view id, int timeout_ms) const override {
    return consumer_->WaitApplied(id, timeout_ms);
  }

 private:
  const stream::StreamConsumer* const consumer_;
  const stream::DeltaPublisher* const publisher_;
  const stream::DeltaApplier* const applier_;
};

struct ServeStream {
  std::unique_ptr<stream::StreamProducer> producer;     // null: events go to the local log
  std::unique_ptr<stream::StreamConsumer> consumer;     // null: no stream consumed
  std::unique_ptr<stream::TrainerBootstrap> bootstrap;  // a trainer's snapshots for replicas
  std::unique_ptr<stream::DeltaPublisher> publisher;    // a trainer with stream.delta_rows_ms
  std::unique_ptr<stream::DeltaApplier> applier;        // a replica with replication delta
  std::unique_ptr<NodeView> view;                       // with the consumer

  // Stops the delta threads (the publisher's last export first), then the consumer (what it
  // read and did not ack is read again at the next start).
  void Stop() const;
};

// A replica with stream.bootstrap_from and a new data directory: the trainer's snapshot into
// it, its group after it (stream/bootstrap.h). A message for the log when it did, "" when not.
Result<std::string> BootstrapIfNew(const server::StreamSettings& settings,
                                   const std::string& data_dir);

// Connects the producer (when stream.produce_to or the role asks for one) and starts the
// consumer over `engine` (when stream.source is set). Errors name the key.
Result<ServeStream> StartServeStream(const server::StreamSettings& settings,
                                     const std::string& data_dir, Engine* engine);

}  // namespace flywheel::cli
