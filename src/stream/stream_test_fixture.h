// StreamRedisTest: the fixture of the stream module's Redis tests (label redis): a
// redis-server for one test (testing/redis_server.h), engines over temporary directories, and
// helpers to add entries and read counters. Header-only, for *_test.cc files.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "base/random.h"
#include "stream/entry_codec.h"
#include "stream/redis_client.h"
#include "stream/stream_consumer.h"
#include "testing/redis_server.h"
#include "testing/status_matchers.h"

namespace flywheel::stream {

// A redis-server for one test, an engine over a temporary directory, and helpers.
class StreamRedisTest : public ::testing::Test {
 public:
  using RedisServer = ::flywheel::testing::RedisServer;
  using TempDir = ::flywheel::testing::TempDir;

 protected:
  void SetUp() override {
    if (testing::SkipRedisTests()) {
      GTEST_SKIP() << "redis-server not installed and FLYWHEEL_SKIP_REDIS=1";
    }
    auto server = RedisServer::Start({redis_dir_.path(), ""});
    ASSERT_OK(server.status());
    redis_ = std::move(server).value();
    auto address = ParseStreamUrl(redis_->Url("events"));
    ASSERT_OK(address.status());
    address_ = *address;
    auto client = RedisClient::Connect(address_, 5000);
    ASSERT_OK(client.status());
    client_ = std::move(client).value();
  }

  static std::vector<ModelSpec> DefaultModels() {
    return {ModelSpec{"bpr", {{"dim", "8"}, {"seed", "7"}}}, ModelSpec{"pop", {}}};
  }
  static EngineOptions Options(const std::string& dir,
                               std::vector<ModelSpec> models = DefaultModels()) {
    EngineOptions o;
    o.data_dir = dir;
    o.models = std::move(models);
    o.snapshot_on_close = false;
    o.loop.close_tick_ms = 0;
    o.loop.served_cache = 0;
    return o;
  }

  std::unique_ptr<Engine> Open(const std::string& dir) {
    auto engine = Engine::Open(Options(dir));
    EXPECT_OK(engine.status());
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  std::unique_ptr<StreamConsumer> Consume(Engine* engine, const std::string& group,
                                          int batch = 1000, uint64_t max_unapplied = 100'000) {
    StreamConsumerOptions o;
    o.max_unapplied = max_unapplied;
    o.address = address_;
    o.group = group;
    o.batch = batch;
    o.block_ms = 20;
    o.retry_ms = 50;
    auto consumer = StreamConsumer::Start(engine, o);
    EXPECT_OK(consumer.status());
    return consumer.ok() ? std::move(consumer).value() : nullptr;
  }

  // XADD one entry; its id.
  std::string Add(const EntryFields& fields, const std::string& stream = "events") {
    std::vector<std::string> argv = {"XADD", stream, "*"};
    for (const auto& [k, v] : fields) {
      argv.push_back(k);
      argv.push_back(v);
    }
    auto reply = client_->Command(argv);
    EXPECT_OK(reply.status());
    return reply.ok() ? reply->str : "";
  }

  int64_t Integer(const std::vector<std::string>& argv) {
    auto reply = client_->Command(argv);
    EXPECT_OK(reply.status());
    return reply.ok() ? reply->integer : -1;
  }

  // Pending (delivered, not acked) entries of a group.
  int64_t Pending(const std::string& group) {
    auto reply = client_->Command({"XPENDING", "events", group});
    EXPECT_OK(reply.status());
    return reply.ok() && !reply->elements.empty() ? reply->elements[0].integer : -1;
  }

  static std::string EventJson(int user, int item, int i, const std::string& type = "view") {
    return nlohmann::json{{"user", "u" + std::to_string(user)},
                          {"item", "i" + std::to_string(item)},
                          {"type", type},
                          {"ts", 1'700'000'000'000 + i * 1000}}
        .dump();
  }

  // `n` events in entries of 1..7 events (some single `event` fields), deterministic.
  std::string AddEvents(int n, uint64_t seed, int first = 0) {
    base::Rng rng(seed);
    std::string last;
    for (int i = first; i < first + n;) {
      const int size = std::min<int>(1 + static_cast<int>(rng.Uniform(7)), first + n - i);
      std::vector<std::string> events;
      for (int j = 0; j < size; ++j, ++i) {
        const int user = static_cast<int>(rng.Uniform(40));
        events.push_back(EventJson(user, (user % 4) * 10 + static_cast<int>(rng.Uniform(10)), i,
                                   rng.Bernoulli(0.2) ? "purchase" : "view"));
      }
      last = Add(EncodeEntry(events));
    }
    return last;
  }

  TempDir redis_dir_;
  std::unique_ptr<RedisServer> redis_;
  StreamAddress address_;
  std::unique_ptr<RedisClient> client_;
};

}  // namespace flywheel::stream
