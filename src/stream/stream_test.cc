// Tests of the stream module: URL and entry parsing (no Redis), and the consumer and producer
// against a real redis-server on a loopback port (label redis; testing/redis_server.h).
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "base/random.h"
#include "stream/entry_codec.h"
#include "stream/redis_client.h"
#include "stream/stream_consumer.h"
#include "stream/stream_producer.h"
#include "stream/stream_test_fixture.h"
#include "testing/redis_server.h"
#include "testing/status_matchers.h"

namespace flywheel::stream {
namespace {

using ::flywheel::testing::RedisServer;
using ::flywheel::testing::TempDir;
using nlohmann::json;

TEST(StreamUrlTest, ParsesHostPortPasswordAndStream) {
  auto a = ParseStreamUrl("redis://10.0.0.5:6380/events");
  ASSERT_OK(a.status());
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->stream, "events");
  EXPECT_EQ(a->password, "");
  auto b = ParseStreamUrl("redis://:s3cret@redis.local/shop:events");
  ASSERT_OK(b.status());
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->password, "s3cret");
  EXPECT_EQ(b->stream, "shop:events");
  EXPECT_EQ(b->ToString(), "redis://redis.local:6379/shop:events");  // no password shown
  for (const char* bad : {"http://h/s", "redis://h:0/s", "redis://h:99999/s", "redis://h",
                          "redis://h/", "redis:///s", "redis://user:pw@h/s"}) {
    EXPECT_EQ(ParseStreamUrl(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(EntryIdTest, ComparesNumerically) {
  EXPECT_EQ(CompareEntryIds("9-0", "10-0"), -1);
  EXPECT_EQ(CompareEntryIds("10-2", "10-10"), -1);
  EXPECT_EQ(CompareEntryIds("10-2", "10-2"), 0);
  EXPECT_EQ(CompareEntryIds("11-0", "10-99"), 1);
  EXPECT_EQ(CompareEntryIds("junk", "0-0"), -1);
}

TEST(EntryCodecTest, DecodesOneEventOrAnArrayAndNamesEventsWithoutId) {
  DecodedEntry one;
  ASSERT_OK(DecodeEntry(
      "5-1", {{"event", R"({"user":"u","item":"i","type":"view","ts":1700000000000})"}}, {}, &one));
  ASSERT_EQ(one.events.size(), 1u);
  EXPECT_EQ(one.events[0].id, "5-1/0");
  EXPECT_FALSE(one.catalog.has_value());
  DecodedEntry two;
  ASSERT_OK(DecodeEntry(
      "6-0", {{"events", R"([{"user":"u","item":"a","type":"view","ts":1700000000000,"id":"mine"},
                      {"user":"u","item":"b","type":"click","ts":1700000000001}])"}},
      {}, &two));
  ASSERT_EQ(two.events.size(), 2u);
  EXPECT_EQ(two.events[0].id, "mine");
  EXPECT_EQ(two.events[1].id, "6-0/1");
  EXPECT_EQ(two.events[1].item, "b");
}

TEST(EntryCodecTest, DecodesCatalogueRecords) {
  DecodedEntry items;
  ASSERT_OK(DecodeEntry(
      "1-0", {{"items", R"([{"id":"i1","title":"Heat","categories":["drama"]},{"id":"i2"}])"}}, {},
      &items));
  ASSERT_TRUE(items.catalog.has_value());
  EXPECT_EQ(items.catalog->kind, CatalogEntry::Kind::kPutItems);
  ASSERT_EQ(items.catalog->items.size(), 2u);
  EXPECT_EQ(items.catalog->items[0].title, "Heat");
  DecodedEntry user;
  ASSERT_OK(DecodeEntry("1-0", {{"user", R"({"id":"u1","attributes":{"age":"30"}})"}}, {}, &user));
  EXPECT_EQ(user.catalog->kind, CatalogEntry::Kind::kPutUser);
  EXPECT_EQ(user.catalog->user.id, "u1");
  DecodedEntry forget;
  ASSERT_OK(DecodeEntry("1-0", {{"forget_user", "u1"}}, {}, &forget));
  EXPECT_EQ(forget.catalog->kind, CatalogEntry::Kind::kForgetUser);
  EXPECT_EQ(forget.catalog->id, "u1");
  DecodedEntry del;
  ASSERT_OK(DecodeEntry("1-0", {{"delete_item", "i9"}}, {}, &del));
  EXPECT_EQ(del.catalog->kind, CatalogEntry::Kind::kDeleteItem);
  const std::vector<EntryFields> bad = {
      {{"items", R"([{"id":"i1"},{"id":"i1"}])"}},  // a duplicated id
      {{"items", "[]"}},
      {{"items", R"([{"title":"no id"}])"}},
      {{"user", R"({"attributes":{}})"}},
      {{"user", R"({"id":"u1","nonsense":1})"}},
      {{"forget_user", ""}},
      {{"delete_item", std::string("a\x01b")}}};
  for (const EntryFields& fields : bad) {
    DecodedEntry out;
    EXPECT_EQ(DecodeEntry("1-0", fields, {}, &out).code(), StatusCode::kInvalidArgument)
        << fields.front().second;
    EXPECT_FALSE(out.catalog.has_value());
  }
}

TEST(EntryCodecTest, RefusesWhatItWouldOtherwiseIgnoreWithAReason) {
  const std::string ok = R"({"user":"u","item":"i","type":"view","ts":1700000000000})";
  const struct {
    EntryFields fields;
    std::string reason;
  } cases[] = {
      {{}, "expected exactly one field"},
      {{{"event", ok}, {"extra", "1"}}, "expected exactly one field"},
      {{{"evnt", ok}}, "unknown field 'evnt'"},
      {{{"event", "{not json"}}, "not valid JSON"},
      {{{"event", "[1]"}}, "expected a JSON object"},
      {{{"events", "[]"}}, "non-empty JSON array"},
      {{{"events", "[" + ok + ", {\"user\": 5}]"}}, "events[1]"},
      {{{"event", R"({"user":"u","item":"i","type":"view"})"}}, "event"},
      {{{"event", std::string(2 << 20, ' ')}}, "over the limit"},
  };
  for (const auto& c : cases) {
    DecodedEntry out;
    const Status st = DecodeEntry("1-0", c.fields, {}, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.reason;
    EXPECT_NE(st.message().find(c.reason), std::string::npos) << st.message();
    EXPECT_TRUE(out.events.empty());
  }
  EntryLimits limits;
  limits.max_events = 2;
  DecodedEntry out;
  EXPECT_FALSE(
      DecodeEntry("1-0", {{"events", "[" + ok + "," + ok + "," + ok + "]"}}, limits, &out).ok());
}

TEST(EntryCodecTest, EncodeIsTheInverseOfDecode) {
  const std::vector<std::string> events = {
      R"({"user":"u1","item":"a","type":"view","ts":1700000000000,"id":"x1"})",
      R"({"user":"u2","item":"b","type":"purchase","ts":1700000000001,"id":"x2"})"};
  DecodedEntry out;
  ASSERT_OK(DecodeEntry("1-0", EncodeEntry(events), {}, &out));
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[1].user, "u2");
  EXPECT_EQ(out.events[1].type, "purchase");
  ASSERT_EQ(EncodeEntry({events[0]}).front().first, "event");
}

TEST_F(StreamRedisTest, IngestsEntriesAcksThemAndParksBadOnesWithTheirReason) {
  TempDir dir;
  auto engine = Open(dir.path());
  ASSERT_NE(engine, nullptr);
  auto consumer = Consume(engine.get(), "flywheel");
  ASSERT_NE(consumer, nullptr);
  Add({{"event", EventJson(1, 1, 0)}});
  Add({{"events", "[" + EventJson(1, 2, 1) + "," + EventJson(2, 2, 2) + "]"}});
  Add({{"event", "{broken"}});
  Add({{"note", "hello"}});
  Add({{"event", EventJson(3, 3, 3, "no_such_type")}});  // fails the engine's validation
  Add({{"events", "[" + EventJson(3, 3, 4) + "," + EventJson(3, 4, 5, "bogus") + "]"}});
  const std::string last = Add({{"event", EventJson(4, 1, 6)}});
  ASSERT_OK(consumer->WaitApplied(last, 10'000));
  EXPECT_EQ(engine->stats().applied_seq, 4u);  // 1 + 2 + 1 good events; a bad entry is whole
  const json stats = consumer->Stats();
  EXPECT_EQ(stats["entries"], 7);
  EXPECT_EQ(stats["events"], 4);
  EXPECT_EQ(stats["dead_letters"], 4);
  EXPECT_EQ(stats["applied_id"], last);
  // Every entry acked (the ack goes with the next read), none pending.
  for (int i = 0; i < 200 && Pending("flywheel") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Pending("flywheel"), 0);
  auto dead = client_->Command({"XRANGE", "events:dead", "-", "+"});
  ASSERT_OK(dead.status());
  ASSERT_EQ(dead->elements.size(), 4u);
  std::vector<std::string> reasons;
  for (const RedisReply& entry : dead->elements) {
    const auto& kv = entry.elements[1].elements;
    ASSERT_GE(kv.size(), 10u);
    EXPECT_EQ(kv[0].str, "reason");
    reasons.push_back(kv[1].str);
    EXPECT_EQ(kv[2].str, "stream");
    EXPECT_EQ(kv[3].str, "events");
    EXPECT_EQ(kv[8].str.substr(0, 6), "field:");  // the original field, kept
  }
  EXPECT_NE(reasons[0].find("not valid JSON"), std::string::npos) << reasons[0];
  EXPECT_NE(reasons[1].find("unknown field 'note'"), std::string::npos) << reasons[1];
  EXPECT_NE(reasons[2].find("event.type"), std::string::npos) << reasons[2];
  EXPECT_NE(reasons[3].find("events[1].type"), std::string::npos) << reasons[3];
}

TEST_F(StreamRedisTest, RedeliveredEntriesAreAppliedOnce) {
  TempDir dir;
  auto engine = Open(dir.path());
  ASSERT_NE(engine, nullptr);
  const std::string last = AddEvents(300, 1);
  {
    auto consumer = Consume(engine.get(), "flywheel", 50);
    ASSERT_OK(consumer->WaitApplied(last, 10'000));
  }
  ASSERT_EQ(engine->stats().applied_seq, 300u);
  const uint32_t digest = engine->StateDigest().value();
  // The group is rewound: every entry is delivered again (as after a crash before the acks).
  ASSERT_OK(client_->Command({"XGROUP", "SETID", "events", "flywheel", "0"}).status());
  auto consumer = Consume(engine.get(), "flywheel", 64);
  const std::string more = AddEvents(10, 2, 300);
  ASSERT_OK(consumer->WaitApplied(more, 10'000));
  EXPECT_EQ(engine->stats().last_seq, 310u);  // the 300 again are duplicates
  EXPECT_EQ(consumer->Stats()["duplicates"], 300);
  EXPECT_NE(engine->StateDigest().value(), digest);  // the 10 new ones did apply
}

TEST_F(StreamRedisTest, ResumesItsPendingEntriesAfterARestart) {
  // Entries delivered to this consumer and never acked (a kill -9 before XACK) are read again.
  ASSERT_OK(client_->Command({"XGROUP", "CREATE", "events", "flywheel", "0", "MKSTREAM"}).status());
  const std::string last = AddEvents(40, 3);
  ASSERT_OK(client_
                ->Command({"XREADGROUP", "GROUP", "flywheel", "flywheel-1", "COUNT", "1000",
                           "STREAMS", "events", ">"})
                .status());
  ASSERT_GT(Pending("flywheel"), 0);
  TempDir dir;
  auto engine = Open(dir.path());
  auto consumer = Consume(engine.get(), "flywheel");
  ASSERT_OK(consumer->WaitApplied(last, 10'000));
  EXPECT_EQ(engine->stats().applied_seq, 40u);
  for (int i = 0; i < 200 && Pending("flywheel") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Pending("flywheel"), 0);
}

TEST_F(StreamRedisTest, AReplicaReplayingTheStreamIsBitIdenticalToTheTrainer) {
  TempDir trainer_dir;
  TempDir replica_dir;
  auto trainer = Open(trainer_dir.path());
  auto replica = Open(replica_dir.path());
  // Different batch sizes: the state must not depend on how the entries were grouped. The
  // replica also waits for each read to be applied before the next (flow control at 1 event).
  auto t = Consume(trainer.get(), "flywheel", 1000);
  auto r = Consume(replica.get(), "replica-1", 3, /*max_unapplied=*/1);
  AddEvents(250, 4);
  // Catalogue records between the events: every node applies them at the same point.
  Add({{"items", R"([{"id":"i1","title":"Heat","categories":["drama"]},{"id":"i77"}])"}});
  Add({{"delete_item", "i2"}});
  Add({{"user", R"({"id":"u3","attributes":{"age":"30"}})"}});
  Add({{"forget_user", "u5"}});
  AddEvents(250, 5, 250);
  const std::string last = Add({{"event", "{bad"}});  // the newest entry, dead-lettered
  ASSERT_OK(t->WaitApplied(last, 20'000));
  ASSERT_OK(r->WaitApplied(last, 20'000));
  EXPECT_EQ(t->Stats()["catalog"], 4) << t->Stats().dump();
  EXPECT_EQ(trainer->stats().forgotten_users, 1u);
  EXPECT_EQ(trainer->stats().deleted_items, 1u);
  EXPECT_EQ(trainer->stats().applied_seq, replica->stats().applied_seq);
  EXPECT_GT(trainer->stats().applied_seq, 490u);
  EXPECT_EQ(trainer->StateDigest().value(), replica->StateDigest().value());
  for (int u = 0; u < 40; u += 7) {
    RecommendQuery q;
    q.user = "u" + std::to_string(u);
    q.k = 10;
    auto a = trainer->Recommend(q);
    auto b = replica->Recommend(q);
    ASSERT_OK(a.status());
    ASSERT_OK(b.status());
    ASSERT_EQ(a->items.size(), b->items.size());
    ASSERT_FALSE(a->items.empty());
    for (size_t i = 0; i < a->items.size(); ++i) {
      EXPECT_EQ(a->items[i].item, b->items[i].item);
      EXPECT_EQ(a->items[i].score, b->items[i].score);  // bit-identical
    }
  }
  EXPECT_EQ(t->Stats()["dead_letters"], 1);
  EXPECT_EQ(r->Stats()["dead_letters"], 1);  // both groups park it: two dead-letter entries
  EXPECT_EQ(Integer({"XLEN", "events:dead"}), 2);
}

TEST_F(StreamRedisTest, ProducerAppendsEntriesTheConsumerApplies) {
  auto producer = StreamProducer::Connect(address_, 5000);
  ASSERT_OK(producer.status());
  auto id = (*producer)->AppendEvents({EventJson(1, 1, 0), EventJson(2, 1, 1)});
  ASSERT_OK(id.status());
  EXPECT_EQ(Integer({"XLEN", "events"}), 1);
  TempDir dir;
  auto engine = Open(dir.path());
  auto consumer = Consume(engine.get(), "flywheel");
  ASSERT_OK(consumer->WaitApplied(*id, 10'000));
  EXPECT_EQ(engine->stats().applied_seq, 2u);
  // Redis restarted without persistence: the producer reconnects once, the consumer recreates
  // its group and goes on.
  ASSERT_OK(redis_->Restart());
  auto again = (*producer)->AppendEvents({EventJson(3, 2, 2)});
  ASSERT_OK(again.status());
  ASSERT_OK(consumer->WaitApplied(*again, 10'000));
  EXPECT_EQ(engine->stats().applied_seq, 3u);
  EXPECT_GE(consumer->Stats()["failures"].get<int>(), 1);
}

TEST_F(StreamRedisTest, RefusesToStartWhereTheStreamWasTrimmedPastItsGroup) {
  ASSERT_OK(client_->Command({"XGROUP", "CREATE", "events", "flywheel", "0", "MKSTREAM"}).status());
  AddEvents(30, 6);
  ASSERT_OK(client_->Command({"XTRIM", "events", "MAXLEN", "5"}).status());  // unread entries go
  TempDir dir;
  auto engine = Open(dir.path());
  StreamConsumerOptions o;
  o.address = address_;
  auto consumer = StreamConsumer::Start(engine.get(), o);
  EXPECT_EQ(consumer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(consumer.status().message().find("trimmed past group flywheel"), std::string::npos)
      << consumer.status().message();
  // A group that read everything before the trim starts.
  auto other = StreamConsumer::Start(engine.get(), [&] {
    StreamConsumerOptions p = o;
    p.group = "late";
    p.start_id = "$";
    return p;
  }());
  EXPECT_OK(other.status());
}

TEST_F(StreamRedisTest, WaitAppliedTimesOutAndRefusesNonIds) {
  TempDir dir;
  auto engine = Open(dir.path());
  auto consumer = Consume(engine.get(), "flywheel");
  EXPECT_EQ(consumer->WaitApplied("99999999999999-0", 50).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(consumer->WaitApplied("latest", 50).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel::stream
