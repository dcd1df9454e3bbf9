// The stream part of `flywheel serve` (doc/stream.md): the producer that POST /v1/events
// appends to, and the consumer that feeds the engine from stream.source.
#pragma once

#include <memory>

#include "flywheel/engine.h"

#include "server/serve_config.h"
#include "stream/stream_consumer.h"
#include "stream/stream_producer.h"

namespace flywheel::cli {

struct ServeStream {
  std::unique_ptr<stream::StreamProducer> producer;  // null: events go to the local log
  std::unique_ptr<stream::StreamConsumer> consumer;  // null: no stream consumed
};

// Connects the producer (when stream.produce_to or the role asks for one) and starts the
// consumer over `engine` (when stream.source is set). Errors name the key.
Result<ServeStream> StartServeStream(const server::StreamSettings& settings, Engine* engine);

}  // namespace flywheel::cli
