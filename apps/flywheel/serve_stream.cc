#include "serve_stream.h"

namespace flywheel::cli {
namespace {

constexpr int kTimeoutMs = 5000;

// The trainer's delta publisher or the delta replica's applier (doc/stream.md, "Delta mode").
Status StartDeltas(const server::StreamSettings& s, const stream::StreamAddress& address,
                   Engine* engine, ServeStream* out) {
  if (s.delta_rows_ms > 0) {
    stream::DeltaPublisherOptions o;
    o.address = address;
    o.rows_ms = s.delta_rows_ms;
    o.dense_ms = s.delta_dense_ms;
    o.full_s = s.delta_full_s;
    o.timeout_ms = kTimeoutMs;
    Result<std::unique_ptr<stream::DeltaPublisher>> p =
        stream::DeltaPublisher::Start(engine, out->consumer.get(), std::move(o));
    if (!p.ok()) {
      return p.status().WithPrefix("serve: stream.delta_rows_ms");
    }
    out->publisher = std::move(p).value();
  }
  if (s.replication == "delta") {
    stream::DeltaApplierOptions o;
    o.address = address;
    o.block_ms = s.block_ms;
    o.timeout_ms = kTimeoutMs;
    Result<std::unique_ptr<stream::DeltaApplier>> a =
        stream::DeltaApplier::Start(engine, out->consumer.get(), std::move(o));
    if (!a.ok()) {
      return a.status().WithPrefix("serve: stream.replication");
    }
    out->applier = std::move(a).value();
  }
  return Status::Ok();
}

}  // namespace

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
    FLYWHEEL_RETURN_IF_ERROR(StartDeltas(s, *address, engine, &out));
    out.view =
        std::make_unique<NodeView>(out.consumer.get(), out.publisher.get(), out.applier.get());
  }
  return out;
}

void ServeStream::Stop() const {
  if (publisher != nullptr) {
    publisher->Stop();
  }
  if (applier != nullptr) {
    applier->Stop();
  }
  if (consumer != nullptr) {
    consumer->Stop();
  }
}

nlohmann::json NodeView::Stats() const {
  nlohmann::json out = consumer_->Stats();
  out["replication"] = applier_ != nullptr ? "delta" : "replay";
  if (publisher_ != nullptr) {
    out["deltas"] = publisher_->Stats();
  } else if (applier_ != nullptr) {
    out["deltas"] = applier_->Stats();
  }
  return out;
}

}  // namespace flywheel::cli
