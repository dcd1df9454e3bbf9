// The stream part of `flywheel serve` (doc/stream.md): the producer that POST /v1/events
// appends to, and the consumer that feeds the engine from stream.source.
#pragma once

#include <memory>

#include "flywheel/engine.h"

#include "server/serve_config.h"
#include "stream/bootstrap.h"
#include "stream/stream_consumer.h"
#include "stream/stream_producer.h"

namespace flywheel::cli {

struct ServeStream {
  std::unique_ptr<stream::StreamProducer> producer;     // null: events go to the local log
  std::unique_ptr<stream::StreamConsumer> consumer;     // null: no stream consumed
  std::unique_ptr<stream::TrainerBootstrap> bootstrap;  // a trainer's snapshots for replicas
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
