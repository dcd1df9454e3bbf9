// Delta replication over a real redis-server (label redis): a trainer's DeltaPublisher and a
// delta replica's DeltaApplier converge to identical recommendations; a replica started late
// begins at the newest full entry, which trims what came before the previous one; a gap in a
// run's entries sends the replica back to the newest full entry; malformed entries are refused
// and counted.
#include "stream/delta_stream.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stream/stream_test_fixture.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;

class DeltaStreamTest : public StreamRedisTest {
 protected:
  static std::vector<ModelSpec> Models() {
    return {ModelSpec{"sasrec", {{"dim", "16"}, {"blocks", "1"}, {"max_len", "8"}}},
            ModelSpec{"pop", {}}};
  }
  std::unique_ptr<Engine> OpenNode(const std::string& dir, bool learning) {
    EngineOptions o = Options(dir, Models());
    o.model_learning = learning;
    auto engine = Engine::Open(o);
    EXPECT_OK(engine.status());
    return engine.ok() ? std::move(engine).value() : nullptr;
  }
  std::unique_ptr<DeltaPublisher> Publish(Engine* engine, const StreamConsumer* events,
                                          int full_s = 600) {
    DeltaPublisherOptions o;
    o.address = address_;
    o.rows_ms = 20;
    o.dense_ms = 50;
    o.full_s = full_s;
    auto p = DeltaPublisher::Start(engine, events, o);
    EXPECT_OK(p.status());
    return p.ok() ? std::move(p).value() : nullptr;
  }
  std::unique_ptr<DeltaApplier> Apply(Engine* engine, const StreamConsumer* events) {
    DeltaApplierOptions o;
    o.address = address_;
    o.block_ms = 20;
    o.retry_ms = 20;
    auto a = DeltaApplier::Start(engine, events, o);
    EXPECT_OK(a.status());
    return a.ok() ? std::move(a).value() : nullptr;
  }
  // Users (of 40) whose sasrec lists or scores differ between the two engines.
  static int Differing(Engine& a, Engine& b) {
    int differing = 0;
    for (int u = 0; u < 40; ++u) {
      RecommendQuery q;
      q.user = "u" + std::to_string(u);
      q.model = "sasrec";
      auto x = a.Recommend(q);
      auto y = b.Recommend(q);
      EXPECT_OK(x.status());
      EXPECT_OK(y.status());
      bool same = x.ok() && y.ok() && x->items.size() == y->items.size();
      for (size_t i = 0; same && i < x->items.size(); ++i) {
        same = x->items[i].item == y->items[i].item && x->items[i].score == y->items[i].score;
      }
      differing += same ? 0 : 1;
    }
    return differing;
  }
  // Both consumers applied `last`, the publisher flushed (dense), the applier caught up.
  static void Settle(const StreamConsumer& trainer_events, const StreamConsumer& replica_events,
                     DeltaPublisher* publisher, const DeltaApplier& applier,
                     const std::string& last) {
    ASSERT_OK(trainer_events.WaitApplied(last, 30'000));
    ASSERT_OK(replica_events.WaitApplied(last, 30'000));
    ASSERT_OK(publisher->PublishNow(/*dense=*/true, /*full=*/false));
    ASSERT_OK(applier.WaitVersion(last, 30'000)) << applier.Stats().dump() << "\n"
                                                 << publisher->Stats().dump();
    // An earlier rows-only entry may already hold `last`: wait for the newest published entry
    // (the dense one from PublishNow) to be read.
    const std::string newest = publisher->Stats()["last_id"];
    for (int i = 0;
         i < 3000 && CompareEntryIds(applier.Stats()["read_id"].get<std::string>(), newest) < 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GE(CompareEntryIds(applier.Stats()["read_id"].get<std::string>(), newest), 0);
  }
};

TEST_F(DeltaStreamTest, ADeltaReplicaConvergesToTheTrainer) {
  TempDir trainer_dir, replica_dir;
  auto trainer = OpenNode(trainer_dir.path(), true);
  auto replica = OpenNode(replica_dir.path(), false);
  auto trainer_events = Consume(trainer.get(), "trainer");
  auto replica_events = Consume(replica.get(), "replica");
  auto publisher = Publish(trainer.get(), trainer_events.get());
  auto applier = Apply(replica.get(), replica_events.get());
  ASSERT_TRUE(trainer && replica && trainer_events && replica_events && publisher && applier);
  int first = 0;
  for (int round = 0; round < 3; ++round) {
    const std::string last = AddEvents(300, 40 + static_cast<uint64_t>(round), first);
    first += 300;
    Settle(*trainer_events, *replica_events, publisher.get(), *applier, last);
    EXPECT_EQ(Differing(*trainer, *replica), 0) << "round " << round;
  }
  const json p = publisher->Stats();
  const json a = applier->Stats();
  EXPECT_GE(p["entries"].get<int>(), 3);
  EXPECT_GE(p["full"].get<int>(), 1);
  EXPECT_EQ(p["failures"].get<int>(), 0);
  EXPECT_EQ(a["entries"], p["entries"]);
  EXPECT_EQ(a["bytes"], p["bytes"]);
  EXPECT_EQ(a["refused"].get<int>(), 0);
  EXPECT_EQ(a["gaps"].get<int>(), 0);
  EXPECT_GT(a["model_lag_ms"]["count"].get<int>(), 0);
}

TEST_F(DeltaStreamTest, ALateReplicaStartsAtTheNewestFullEntryAndOldEntriesAreTrimmed) {
  TempDir trainer_dir, replica_dir;
  auto trainer = OpenNode(trainer_dir.path(), true);
  auto trainer_events = Consume(trainer.get(), "trainer");
  auto publisher = Publish(trainer.get(), trainer_events.get());
  ASSERT_TRUE(trainer && trainer_events && publisher);
  std::string last = AddEvents(200, 1);
  ASSERT_OK(trainer_events->WaitApplied(last, 30'000));
  ASSERT_OK(publisher->PublishNow(true, /*full=*/true));
  last = AddEvents(200, 2, 200);
  ASSERT_OK(trainer_events->WaitApplied(last, 30'000));
  ASSERT_OK(publisher->PublishNow(true, false));
  auto previous_full = client_->Command({"GET", "events:deltas:full"});
  ASSERT_OK(previous_full.status());
  ASSERT_FALSE(previous_full->is_nil());
  ASSERT_OK(publisher->PublishNow(true, /*full=*/true));  // trims before the previous full
  auto oldest = client_->Command({"XRANGE", "events:deltas", "-", "+", "COUNT", "1"});
  ASSERT_OK(oldest.status());
  ASSERT_EQ(oldest->elements.size(), 1u);
  EXPECT_EQ(oldest->elements[0].elements[0].str, previous_full->str)
      << "the entries before the previous full entry are trimmed";
  auto full_id = client_->Command({"GET", "events:deltas:full"});
  ASSERT_OK(full_id.status());
  EXPECT_GT(CompareEntryIds(full_id->str, previous_full->str), 0);

  auto replica = OpenNode(replica_dir.path(), false);
  auto replica_events = Consume(replica.get(), "replica");
  auto applier = Apply(replica.get(), replica_events.get());
  ASSERT_TRUE(replica && replica_events && applier);
  last = AddEvents(100, 3, 400);
  Settle(*trainer_events, *replica_events, publisher.get(), *applier, last);
  EXPECT_EQ(Differing(*trainer, *replica), 0);
  EXPECT_GE(applier->Stats()["full"].get<int>(), 1);
}

TEST_F(DeltaStreamTest, AGapSendsTheReplicaBackToAFullEntryAndBadEntriesAreRefused) {
  TempDir trainer_dir, replica_dir;
  auto trainer = OpenNode(trainer_dir.path(), true);
  auto replica = OpenNode(replica_dir.path(), false);
  auto trainer_events = Consume(trainer.get(), "trainer");
  auto replica_events = Consume(replica.get(), "replica");
  auto publisher = Publish(trainer.get(), trainer_events.get());
  auto applier = Apply(replica.get(), replica_events.get());
  ASSERT_TRUE(trainer && replica && trainer_events && replica_events && publisher && applier);
  std::string last = AddEvents(200, 5);
  Settle(*trainer_events, *replica_events, publisher.get(), *applier, last);
  const std::string epoch = publisher->Stats()["epoch"];
  const int next = publisher->Stats()["entries"].get<int>();
  // An entry that skips n (as if entries were trimmed unread), then one with bad bytes in order.
  Add({{"model", "sasrec"},
       {"index", "0"},
       {"kind", "rows"},
       {"version", "0-0"},
       {"seq", "1"},
       {"epoch", epoch},
       {"n", std::to_string(next + 5)},
       {"data", "x"}},
      "events:deltas");
  for (int i = 0; i < 200 && applier->Stats()["gaps"].get<int>() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(applier->Stats()["gaps"].get<int>(), 1);
  ASSERT_OK(publisher->PublishNow(true, /*full=*/true));  // where the replica starts again
  last = AddEvents(100, 6, 200);
  Settle(*trainer_events, *replica_events, publisher.get(), *applier, last);
  EXPECT_EQ(Differing(*trainer, *replica), 0);
  const int n = publisher->Stats()["entries"].get<int>();
  Add({{"model", "sasrec"},
       {"index", "0"},
       {"kind", "rows"},
       {"version", "0-0"},
       {"seq", "1"},
       {"epoch", epoch},
       {"n", std::to_string(n)},
       {"data", "not a delta"}},
      "events:deltas");
  for (int i = 0; i < 200 && applier->Stats()["refused"].get<int>() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(applier->Stats()["refused"].get<int>(), 1);
  EXPECT_NE(applier->Stats()["last_error"].get<std::string>().find("delta"), std::string::npos);
}

}  // namespace
}  // namespace flywheel::stream
