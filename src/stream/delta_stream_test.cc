// Delta replication over a real redis-server (label redis): a trainer's DeltaPublisher and a
// delta replica's DeltaApplier converge to identical recommendations; a replica started late
// begins at the newest full entry, which trims what came before the previous one; a gap in a
// run's entries (or an entry without a run number) sends the replica back to the newest full
// entry; malformed entries are refused and counted.
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
  // A trainer that publishes deltas and a delta replica, each with its consumer group. Members
  // are destroyed in reverse order: the delta threads, the consumers, then the engines.
  struct Deployment {
    TempDir trainer_dir, replica_dir;
    std::unique_ptr<Engine> trainer, replica;
    std::unique_ptr<StreamConsumer> trainer_events, replica_events;
    std::unique_ptr<DeltaPublisher> publisher;
    std::unique_ptr<DeltaApplier> applier;
    bool ok() const {
      return trainer && replica && trainer_events && replica_events && publisher && applier;
    }
  };
  void Deploy(Deployment* d, bool with_replica = true) {
    d->trainer = OpenNode(d->trainer_dir.path(), true);
    d->trainer_events = Consume(d->trainer.get(), "trainer");
    d->publisher = Publish(d->trainer.get(), d->trainer_events.get());
    if (with_replica) {
      StartReplica(d);
    }
  }
  void StartReplica(Deployment* d) {
    d->replica = OpenNode(d->replica_dir.path(), false);
    d->replica_events = Consume(d->replica.get(), "replica");
    d->applier = Apply(d->replica.get(), d->replica_events.get());
  }
  // Both consumers applied `last`, the publisher flushed (dense), the applier caught up.
  static void Settle(const Deployment& d, const std::string& last) {
    ASSERT_OK(d.trainer_events->WaitApplied(last, 30'000));
    ASSERT_OK(d.replica_events->WaitApplied(last, 30'000));
    ASSERT_OK(d.publisher->PublishNow(/*dense=*/true, /*full=*/false));
    ASSERT_OK(d.applier->WaitVersion(last, 30'000)) << d.applier->Stats().dump() << "\n"
                                                    << d.publisher->Stats().dump();
    // An earlier rows-only entry may already hold `last`: wait for the newest published entry
    // (the dense one from PublishNow) to be read.
    const std::string newest = d.publisher->Stats()["last_id"];
    const auto read = [&] { return d.applier->Stats()["read_id"].get<std::string>(); };
    for (int i = 0; i < 3000 && CompareEntryIds(read(), newest) < 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GE(CompareEntryIds(read(), newest), 0);
  }
};

TEST_F(DeltaStreamTest, ADeltaReplicaConvergesToTheTrainer) {
  Deployment d;
  Deploy(&d);
  ASSERT_TRUE(d.ok());
  int first = 0;
  for (int round = 0; round < 3; ++round) {
    const std::string last = AddEvents(300, 40 + static_cast<uint64_t>(round), first);
    first += 300;
    Settle(d, last);
    EXPECT_EQ(Differing(*d.trainer, *d.replica), 0) << "round " << round;
  }
  const json p = d.publisher->Stats();
  const json a = d.applier->Stats();
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
  Deployment d;
  Deploy(&d, /*with_replica=*/false);
  ASSERT_TRUE(d.trainer && d.trainer_events && d.publisher);
  std::string last = AddEvents(200, 1);
  ASSERT_OK(d.trainer_events->WaitApplied(last, 30'000));
  ASSERT_OK(d.publisher->PublishNow(true, /*full=*/true));
  last = AddEvents(200, 2, 200);
  ASSERT_OK(d.trainer_events->WaitApplied(last, 30'000));
  ASSERT_OK(d.publisher->PublishNow(true, false));
  auto previous_full = client_->Command({"GET", "events:deltas:full"});
  ASSERT_OK(previous_full.status());
  ASSERT_FALSE(previous_full->is_nil());
  ASSERT_OK(d.publisher->PublishNow(true, /*full=*/true));  // trims before the previous full
  auto oldest = client_->Command({"XRANGE", "events:deltas", "-", "+", "COUNT", "1"});
  ASSERT_OK(oldest.status());
  ASSERT_EQ(oldest->elements.size(), 1u);
  EXPECT_EQ(oldest->elements[0].elements[0].str, previous_full->str)
      << "the entries before the previous full entry are trimmed";
  auto full_id = client_->Command({"GET", "events:deltas:full"});
  ASSERT_OK(full_id.status());
  EXPECT_GT(CompareEntryIds(full_id->str, previous_full->str), 0);

  StartReplica(&d);
  ASSERT_TRUE(d.ok());
  last = AddEvents(100, 3, 400);
  Settle(d, last);
  EXPECT_EQ(Differing(*d.trainer, *d.replica), 0);
  EXPECT_GE(d.applier->Stats()["full"].get<int>(), 1);
}

TEST_F(DeltaStreamTest, AGapSendsTheReplicaBackToAFullEntryAndBadEntriesAreRefused) {
  Deployment d;
  Deploy(&d);
  ASSERT_TRUE(d.ok());
  std::string last = AddEvents(200, 5);
  Settle(d, last);
  const std::string epoch = d.publisher->Stats()["epoch"];
  const int next = d.publisher->Stats()["entries"].get<int>();
  // A rows entry of the publisher's run with number n and these bytes.
  const auto forge = [&](int n, const std::string& data) {
    Add({{"model", "sasrec"},
         {"index", "0"},
         {"kind", "rows"},
         {"version", "0-0"},
         {"seq", "1"},
         {"epoch", epoch},
         {"n", std::to_string(n)},
         {"data", data}},
        "events:deltas");
  };
  // An entry that skips n (as if entries were trimmed unread), then one with bad bytes in order.
  forge(next + 5, "x");
  for (int i = 0; i < 200 && d.applier->Stats()["gaps"].get<int>() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(d.applier->Stats()["gaps"].get<int>(), 1);
  ASSERT_OK(d.publisher->PublishNow(true, /*full=*/true));  // where the replica starts again
  last = AddEvents(100, 6, 200);
  Settle(d, last);
  EXPECT_EQ(Differing(*d.trainer, *d.replica), 0);
  forge(d.publisher->Stats()["entries"].get<int>(), "not a delta");
  for (int i = 0; i < 200 && d.applier->Stats()["refused"].get<int>() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(d.applier->Stats()["refused"].get<int>(), 1);
  EXPECT_NE(d.applier->Stats()["last_error"].get<std::string>().find("delta"), std::string::npos);
  // A full entry whose run number is not a number, named by the key (so the replica reaches it
  // both in order and when it starts again from the newest full entry): gaps, not a crash.
  const int gaps = d.applier->Stats()["gaps"].get<int>();
  const std::string bogus = "99999999999999-0";  // after every real entry
  ASSERT_OK(client_->Command({"SET", "events:deltas:full", bogus}).status());
  ASSERT_OK(client_
                ->Command({"XADD", "events:deltas", bogus, "model", "sasrec", "index", "0", "kind",
                           "full", "version", "0-0", "seq", "1", "epoch", epoch, "n",
                           "99999999999999999999999", "data", "x"})
                .status());
  for (int i = 0; i < 300 && d.applier->Stats()["gaps"].get<int>() < gaps + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(d.applier->Stats()["gaps"].get<int>(), gaps + 2);
}

}  // namespace
}  // namespace flywheel::stream
