#include "serve_stream.h"

namespace flywheel::cli {

Result<std::string> BootstrapIfNew(const server::StreamSettings& s, const std::string& data_dir) {
  if (s.bootstrap_from.empty()) {
    return std::string();
  }
  Result<stream::StreamAddress> address = stream::ParseStreamUrl(s.source);
  if (!address.ok()) {
    return address.status().WithPrefix("serve: stream.source");
  }
  Result<std::string> id =
      stream::BootstrapReplica(s.bootstrap_from, s.bootstrap_key, data_dir, *address, s.group);
  if (!id.ok()) {
    return id.status().WithPrefix("serve: stream.bootstrap_from " + s.bootstrap_from);
  }
  return id->empty()
             ? std::string()
             : "bootstrapped from " + s.bootstrap_from + "; the stream resumes after " + *id;
}

Result<ServeStream> StartServeStream(const server::StreamSettings& s, const std::string& data_dir,
                                     Engine* engine) {
  ServeStream out;
  constexpr int kTimeoutMs = 5000;
  if (!s.produce_to.empty()) {
    Result<stream::StreamAddress> address = stream::ParseStreamUrl(s.produce_to);
    if (!address.ok()) {
      return address.status().WithPrefix("serve: stream.produce_to");
    }
    Result<std::unique_ptr<stream::StreamProducer>> producer =
        stream::StreamProducer::Connect(*address, kTimeoutMs);
    if (!producer.ok()) {
      return producer.status().WithPrefix("serve: stream.produce_to");
    }
    out.producer = std::move(producer).value();
  }
  if (!s.source.empty()) {
    Result<stream::StreamAddress> address = stream::ParseStreamUrl(s.source);
    if (!address.ok()) {
      return address.status().WithPrefix("serve: stream.source");
    }
    stream::StreamConsumerOptions o;
    o.address = *address;
    o.group = s.group;
    o.consumer = s.consumer;
    o.start_id = s.start_id;
    o.batch = s.batch;
    o.block_ms = s.block_ms;
    o.limits.max_bytes = static_cast<size_t>(s.max_entry_bytes);
    o.max_unapplied = static_cast<uint64_t>(s.max_unapplied);
    Result<std::unique_ptr<stream::StreamConsumer>> consumer =
        stream::StreamConsumer::Start(engine, std::move(o));
    if (!consumer.ok()) {
      return consumer.status().WithPrefix("serve: stream.source");
    }
    out.consumer = std::move(consumer).value();
    if (s.role == "trainer") {
      out.bootstrap =
          std::make_unique<stream::TrainerBootstrap>(engine, data_dir, out.consumer.get());
    }
  }
  return out;
}

}  // namespace flywheel::cli
