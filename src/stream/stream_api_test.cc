// The HTTP side of a stream node (doc/stream.md): producer mode of POST /v1/events,
// min_version, GET /v1/replication, and the writes a stream consumer refuses (409).
#include <gtest/gtest.h>

#include "server/server_test_fixture.h"
#include "stream/bootstrap.h"
#include "stream/stream_consumer.h"
#include "stream/stream_producer.h"
#include "testing/redis_server.h"

namespace flywheel::stream {
namespace {

using ::flywheel::testing::RedisServer;
using server::test::Client;
using server::test::Reply;
namespace http = boost::beast::http;
using nlohmann::json;

class StreamApiTest : public server::test::ServerFixture {
 protected:
  void SetUp() override {
    if (testing::SkipRedisTests()) {
      GTEST_SKIP() << "redis-server not installed and FLYWHEEL_SKIP_REDIS=1";
    }
    auto redis = RedisServer::Start({redis_dir_.path(), ""});
    ASSERT_OK(redis.status());
    redis_ = std::move(redis).value();
    address_ = ParseStreamUrl(redis_->Url("events")).value();
  }
  void TearDown() override {
    if (api_) {
      api_->SetReplication(nullptr, nullptr);
    }
    if (consumer_) {
      consumer_->Stop();
    }
    ServerFixture::TearDown();
  }
  // A node that appends its POST /v1/events to the stream and consumes it (a trainer).
  void StartNode(bool consume = true) {
    StartServer({});
    auto producer = StreamProducer::Connect(address_, 5000);
    ASSERT_OK(producer.status());
    producer_ = std::move(producer).value();
    if (consume) {
      StreamConsumerOptions o;
      o.address = address_;
      o.block_ms = 20;
      auto consumer = StreamConsumer::Start(engine_.get(), o);
      ASSERT_OK(consumer.status());
      consumer_ = std::move(consumer).value();
    }
    api_->SetReplication(producer_.get(), consumer_.get());
    api_->SetEngine(engine_.get());
  }
  int64_t StreamLength() {
    auto c = RedisClient::Connect(address_, 5000).value();
    return c->Command({"XLEN", "events"}).value().integer;
  }

  ::flywheel::testing::TempDir redis_dir_;
  std::unique_ptr<RedisServer> redis_;
  StreamAddress address_;
  std::unique_ptr<StreamProducer> producer_;
  std::unique_ptr<StreamConsumer> consumer_;
};

const char kTwoEvents[] =
    R"({"events": [{"user": "u1", "item": "i1", "type": "view", "ts": 1700000000000},
                   {"user": "u2", "item": "i1", "type": "purchase", "ts": 1700000001000,
                    "id": "mine"}]})";

TEST_F(StreamApiTest, ProducerModeAnswersTheEntryIdAndMinVersionReadsTheWrite) {
  StartNode();
  Client client(port());
  const Reply posted = client.Send(http::verb::post, "/v1/events", kTwoEvents);
  ASSERT_EQ(posted.status, 202) << posted.text;
  EXPECT_EQ(posted.body["accepted"], 2);
  const std::string id = posted.body["stream_id"];
  EXPECT_EQ(posted.body["stream"], address_.ToString());
  EXPECT_EQ(StreamLength(), 1);  // one entry per batch
  const Reply rec =
      client.Send(http::verb::get, "/v1/users/u1/recommendations?k=5&min_version=" + id);
  ASSERT_EQ(rec.status, 200) << rec.text;
  EXPECT_GE(engine_->stats().applied_seq, 2u);  // the read waited for the events
  const Reply repl = client.Send(http::verb::get, "/v1/replication");
  ASSERT_EQ(repl.status, 200) << repl.text;
  EXPECT_EQ(repl.body["version"], id);
  EXPECT_EQ(repl.body["stream"]["events"], 2);
  EXPECT_EQ(repl.body["produce_to"], address_.ToString());
  const Reply stats = client.Send(http::verb::get, "/v1/stats");
  EXPECT_EQ(stats.body["stream"]["applied_id"], id);
  const Reply metrics = client.Send(http::verb::get, "/metrics");
  EXPECT_NE(metrics.text.find("flywheel_stream_events_total 2\n"), std::string::npos);
  EXPECT_NE(metrics.text.find("flywheel_stream_lag_ms{quantile=\"0.99\"}"), std::string::npos);
  // The event without an id got a random one before XADD (a retried XADD is recognised).
  auto c = RedisClient::Connect(address_, 5000).value();
  const RedisReply entries = c->Command({"XRANGE", "events", "-", "+"}).value();
  const json events = json::parse(entries.elements[0].elements[1].elements[1].str);
  EXPECT_EQ(events[0]["id"].get<std::string>().substr(0, 2), "e-");
  EXPECT_EQ(events[1]["id"], "mine");
}

TEST_F(StreamApiTest, AnInvalidBatchIsRefusedAtTheEdgeAndNeverAppended) {
  StartNode();
  Client client(port());
  const Reply bad = client.Send(
      http::verb::post, "/v1/events",
      R"({"events": [{"user": "u1", "item": "i1", "type": "nope", "ts": 1700000000000}]})");
  EXPECT_EQ(bad.status, 400) << bad.text;
  EXPECT_EQ(bad.body["field"], "events[0].type");
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(StreamApiTest, AConsumerRefusesTheWritesTheStreamDoesNotCarry) {
  StartNode();
  Client client(port());
  for (const std::string target :
       {"/v1/impressions", "/v1/users/u1/recommendations?record_impression=true",
        "/v1/users/u1/recommendations?record_impression=1"}) {
    const bool post = target == "/v1/impressions";
    const Reply r =
        client.Send(post ? http::verb::post : http::verb::get, target, post ? "{}" : "");
    EXPECT_EQ(r.status, 409) << target << " " << r.text;
    EXPECT_EQ(r.body["code"], "not_replicated") << target;
  }
  EXPECT_EQ(client.Send(http::verb::get, "/v1/users/u1/recommendations").status, 200);
  // A consumer without a producer refuses catalogue writes too: they would stay on this node.
  api_->SetReplication(nullptr, consumer_.get());
  const Reply put = client.Send(http::verb::put, "/v1/items/i9", R"({"title": "x"})");
  EXPECT_EQ(put.status, 409) << put.text;
  EXPECT_EQ(StreamLength(), 0);
}

TEST_F(StreamApiTest, CatalogueWritesAndForgettingTravelThroughTheStream) {
  StartNode();
  Client client(port());
  const auto accepted = [&](http::verb verb, const std::string& target, const std::string& body) {
    const Reply r = client.Send(verb, target, body);
    EXPECT_EQ(r.status, 202) << target << " " << r.text;
    return r.body.value("stream_id", std::string("0-0"));
  };
  ASSERT_EQ(client.Send(http::verb::post, "/v1/events", kTwoEvents).status, 202);
  accepted(http::verb::put, "/v1/items/i1", R"({"title": "Heat", "categories": ["drama"]})");
  accepted(http::verb::post, "/v1/items:batch",
           R"({"items": [{"id": "i2", "title": "Up"}, {"id": "i3", "title": "Jaws"}]})");
  accepted(http::verb::delete_, "/v1/items/i3", "");
  accepted(http::verb::put, "/v1/users/u2", R"({"attributes": {"age": "30"}})");
  const std::string last = accepted(http::verb::delete_, "/v1/users/u1", "");
  // Invalid bodies are refused at the edge, nothing appended.
  EXPECT_EQ(client.Send(http::verb::put, "/v1/items/i4", R"({"title": 5})").status, 400);
  EXPECT_EQ(StreamLength(), 6);  // one entry per accepted write
  ASSERT_OK(consumer_->WaitApplied(last, 10'000));
  EXPECT_EQ(consumer_->Stats()["catalog"], 5);
  EXPECT_EQ(consumer_->Stats()["dead_letters"], 0);
  auto heat = engine_->GetItem("i1");
  ASSERT_OK(heat.status());
  EXPECT_EQ(heat->title.value_or(""), "Heat");
  EXPECT_EQ(engine_->GetItem("i2")->title.value_or(""), "Up");
  EXPECT_EQ(engine_->stats().deleted_items, 1u);
  EXPECT_EQ(engine_->stats().forgotten_users, 1u);
  EXPECT_EQ(engine_->GetUser("u1", 10).status().code(), StatusCode::kNotFound);
}

TEST_F(StreamApiTest, MinVersionNotReachedIs503AndABadOneIs400) {
  StartNode();
  Client client(port());
  const Reply late =
      client.Send(http::verb::get, "/v1/users/u1/recommendations?min_version=99999999999999-0");
  EXPECT_EQ(late.status, 503) << late.text;
  EXPECT_EQ(late.body["code"], "version_not_reached");
  EXPECT_EQ(late.headers.at("retry-after"), "1");
  const Reply bad = client.Send(http::verb::get, "/v1/users/u1/recommendations?min_version=x-1");
  EXPECT_EQ(bad.status, 400) << bad.text;
  EXPECT_EQ(bad.body["field"], "min_version");
  const Reply seq = client.Send(http::verb::get, "/v1/users/u1/recommendations?min_version=0");
  EXPECT_EQ(seq.status, 200) << seq.text;  // a sequence number works on any node
}

TEST_F(StreamApiTest, AnEdgeWithoutRedisAnswers503AndLosesNothingSilently) {
  StartNode(/*consume=*/false);
  Client client(port());
  redis_->Kill();
  const Reply r = client.Send(http::verb::post, "/v1/events", kTwoEvents);
  EXPECT_EQ(r.status, 503) << r.text;
  EXPECT_EQ(engine_->stats().last_seq, 0u);  // not written to the local log either
  ASSERT_OK(redis_->Restart());
  const Reply again = client.Send(http::verb::post, "/v1/events", kTwoEvents);
  EXPECT_EQ(again.status, 202) << again.text;  // reconnected
  EXPECT_EQ(StreamLength(), 1);
}

TEST_F(StreamApiTest, ANewReplicaStartsFromTheTrainersSnapshotAndCatchesUpIdentically) {
  StartNode();
  TrainerBootstrap bootstrap(engine_.get(), dir_.path(), consumer_.get());
  api_->SetReplication(producer_.get(), consumer_.get(), &bootstrap);
  Client client(port());
  std::string id;
  for (int b = 0; b < 3; ++b) {
    json events = json::array();
    for (int i = 0; i < 20; ++i) {
      events.push_back({{"user", "u" + std::to_string(i % 7)},
                        {"item", "i" + std::to_string((i * 3 + b) % 11)},
                        {"type", "view"},
                        {"ts", 1'700'000'000'000 + b * 100 + i}});
    }
    const Reply r = client.Send(http::verb::post, "/v1/events", json{{"events", events}}.dump());
    ASSERT_EQ(r.status, 202) << r.text;
    id = r.body["stream_id"];
  }
  ASSERT_OK(consumer_->WaitApplied(id, 10'000));
  const Reply manifest = client.Send(http::verb::get, "/v1/admin/replica/bootstrap");
  ASSERT_EQ(manifest.status, 200) << manifest.text;
  EXPECT_EQ(manifest.body["stream_id"], id);
  EXPECT_EQ(client.Send(http::verb::get, "/v1/admin/replica/files/..%2Fengine.json").status, 404);

  ::flywheel::testing::TempDir replica_dir;
  const std::string url = "http://127.0.0.1:" + std::to_string(port());
  auto resumed = BootstrapReplica(url, "", replica_dir.path(), address_, "replica-1");
  ASSERT_OK(resumed.status());
  EXPECT_EQ(*resumed, manifest.body["stream_id"].get<std::string>());
  EngineOptions o;
  o.data_dir = replica_dir.path();
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  auto replica = Engine::Open(o);
  ASSERT_OK(replica.status());
  EXPECT_EQ((*replica)->stats().recovered_snapshot_seq, manifest.body["snapshot_seq"]);
  StreamConsumerOptions co;
  co.address = address_;
  co.group = "replica-1";
  co.block_ms = 20;
  auto replica_consumer = StreamConsumer::Start(replica->get(), co);
  ASSERT_OK(replica_consumer.status());
  EXPECT_EQ((*replica_consumer)->AppliedId(), id);  // known at start: nothing pending
  const Reply more = client.Send(http::verb::post, "/v1/events", kTwoEvents);
  ASSERT_EQ(more.status, 202);
  const std::string last = more.body["stream_id"];
  ASSERT_OK(consumer_->WaitApplied(last, 10'000));
  ASSERT_OK((*replica_consumer)->WaitApplied(last, 10'000));
  EXPECT_EQ((*replica)->stats().last_seq, engine_->stats().last_seq);
  EXPECT_EQ((*replica)->StateDigest().value(), engine_->StateDigest().value());
  EXPECT_EQ((*replica_consumer)->Stats()["entries"], 1);  // only what came after the snapshot
  (*replica_consumer)->Stop();
  // A data directory that exists is left alone.
  auto again = BootstrapReplica(url, "", replica_dir.path(), address_, "replica-1");
  ASSERT_OK(again.status());
  EXPECT_EQ(*again, "");
}

}  // namespace
}  // namespace flywheel::stream
