// Recommendation ids, the served-list cache and impressions through the Engine API
// (doc/loop.md, sections 1 and 2): what is logged, when, and what recovery finds.
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "engine/loop/impression_record.h"
#include "engine/loop/served_lists.h"
#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/wal_test_util.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;

constexpr TimestampMs kT0 = 1'700'000'000'000;

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}};
  o.snapshot_on_close = false;
  o.loop.seed = 7;
  return o;
}

Event Click(const std::string& user, const std::string& item, TimestampMs ts) {
  return Event{user, item, "click", 1.0, ts, "", {}};
}

// Items i0..i9, i0 the most popular; users u0..u4 clicked some.
std::unique_ptr<Engine> OpenWithEvents(const std::string& dir) {
  auto engine = Engine::Open(Options(dir));
  EXPECT_OK(engine.status());
  std::vector<Event> events;
  for (int item = 0; item < 10; ++item) {
    for (int n = 0; n < 10 - item; ++n) {
      events.push_back(Click("v" + std::to_string(n), "i" + std::to_string(item), kT0 + n));
    }
  }
  auto ingested = (*engine)->Ingest(events);
  EXPECT_OK(ingested.status());
  EXPECT_OK((*engine)->WaitForApplied(ingested->last_seq, 10000));
  return std::move(*engine);
}

RecommendQuery Query(const std::string& user, int k) {
  RecommendQuery q;
  q.user = user;
  q.k = k;
  return q;
}

// The `$impression` records of the log in `dir`, in log order, with their sequence numbers.
std::vector<std::pair<uint64_t, Impression>> LoggedImpressions(const std::string& dir) {
  std::vector<std::pair<uint64_t, Impression>> out;
  wal::testing::ReadResult log = wal::testing::ReadAll(io::Env::Default(), dir + "/wal");
  EXPECT_OK(log.status);
  for (const wal::LogRecord& r : log.records) {
    if (r.event.type == engine::kImpressionType) {
      Result<Impression> imp = engine::DecodeImpression(r.event);
      EXPECT_OK(imp.status());
      out.emplace_back(r.seq, *imp);
    }
  }
  return out;
}

TEST(ImpressionRecorderTest, EveryAnswerHasAnIdAndPropensities) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  auto a = engine->Recommend(Query("new-user", 5));
  auto b = engine->Recommend(Query("new-user", 5));
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_TRUE(engine::ParseRecommendationId(a->recommendation_id)) << a->recommendation_id;
  EXPECT_NE(a->recommendation_id, b->recommendation_id);
  EXPECT_EQ(a->policy, "greedy");
  ASSERT_EQ(a->items.size(), 5u);
  for (const Recommendation& r : a->items) {
    EXPECT_EQ(r.propensity, 1.0);
    EXPECT_EQ(r.step, 1.0);
  }
  EXPECT_EQ(a->impression_seq, 0u);  // fetched, not shown: nothing logged
  EXPECT_TRUE(LoggedImpressions(dir.path()).empty());
  // A policy the build does not serve is refused, naming the field.
  RecommendQuery q = Query("u", 5);
  q.policy = "softmax:2";
  EXPECT_EQ(engine->Recommend(q).status().field(), "policy");
  q.policy = "greedy";
  EXPECT_OK(engine->Recommend(q).status());
}

TEST(ImpressionRecorderTest, IdsAreReproducibleWithASeed) {
  TempDir d1;
  TempDir d2;
  auto e1 = OpenWithEvents(d1.path());
  auto e2 = OpenWithEvents(d2.path());
  EXPECT_EQ(e1->Recommend(Query("u", 3))->recommendation_id,
            e2->Recommend(Query("u", 3))->recommendation_id);
}

TEST(ImpressionRecorderTest, RecordingACachedListLogsItOnceAndRecoveryKeepsIt) {
  TempDir dir;
  std::string id;
  uint64_t seq = 0;
  {
    auto engine = OpenWithEvents(dir.path());
    auto served = engine->Recommend(Query("v9", 4));
    ASSERT_OK(served.status());
    id = served->recommendation_id;
    ImpressionInput in;
    in.user = "v9";
    in.recommendation_id = id;
    auto recorded = engine->RecordImpression(in);
    ASSERT_OK(recorded.status());
    EXPECT_TRUE(recorded->from_cache);
    EXPECT_FALSE(recorded->duplicate);
    EXPECT_EQ(recorded->items, served->items.size());
    EXPECT_EQ(recorded->seq, engine->stats().last_seq);
    seq = recorded->seq;
    auto again = engine->RecordImpression(in);
    ASSERT_OK(again.status());
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->seq, 0u);
    EXPECT_EQ(engine->stats().last_seq, seq);  // not logged twice
    // The same id with items is a duplicate too.
    in.items = {served->items[0].item};
    EXPECT_TRUE(engine->RecordImpression(in)->duplicate);
    ASSERT_OK(engine->WaitForApplied(seq, 10000));
    ASSERT_OK(engine->Close());
    const auto logged = LoggedImpressions(dir.path());
    ASSERT_EQ(logged.size(), 1u);
    const Impression& imp = logged[0].second;
    EXPECT_EQ(logged[0].first, seq);
    EXPECT_EQ(imp.user, "v9");
    EXPECT_EQ(imp.items.size(), 4u);
    EXPECT_EQ(imp.recommendation_id, id);
    EXPECT_EQ(imp.policy, "greedy");
    EXPECT_EQ(imp.model, "pop");
    EXPECT_EQ(imp.model_version, served->applied_seq);
    EXPECT_EQ(imp.ts_ms, kT0 + 9);  // the request time: the newest event time
    ASSERT_EQ(imp.items.size(), served->items.size());
    for (size_t i = 0; i < imp.items.size(); ++i) {
      EXPECT_EQ(imp.items[i].item, served->items[i].item);
      EXPECT_EQ(imp.items[i].position, i);
      EXPECT_EQ(imp.items[i].propensity, 1.0);
    }
  }
  // Reopened: the record is replayed (the log still ends with it), the cache is empty.
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  EXPECT_EQ((*engine)->stats().last_seq, seq);
  ASSERT_OK((*engine)->WaitForApplied(seq, 10000));
  EXPECT_EQ((*engine)->stats().applied_seq, seq);
  ImpressionInput in;
  in.user = "v9";
  in.recommendation_id = id;
  EXPECT_THAT((*engine)->RecordImpression(in).status(), StatusIs(StatusCode::kNotFound));
  // New ids after the restart differ from the ones before (the log moved).
  EXPECT_NE((*engine)->Recommend(Query("v9", 4))->recommendation_id, id);
}

TEST(ImpressionRecorderTest, APartlyShownListKeepsServedPositions) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  auto served = engine->Recommend(Query("nobody", 6));
  ASSERT_OK(served.status());
  ImpressionInput in;
  in.user = "nobody";
  in.recommendation_id = served->recommendation_id;
  in.items = {served->items[4].item, served->items[1].item};  // any order
  auto recorded = engine->RecordImpression(in);
  ASSERT_OK(recorded.status());
  EXPECT_EQ(recorded->items, 2u);
  const auto logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 1u);
  ASSERT_EQ(logged[0].second.items.size(), 2u);
  EXPECT_EQ(logged[0].second.items[0].position, 1u);
  EXPECT_EQ(logged[0].second.items[0].item, served->items[1].item);
  EXPECT_EQ(logged[0].second.items[1].position, 4u);
}

TEST(ImpressionRecorderTest, BadInputIsRefusedNamingTheField) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  auto served = engine->Recommend(Query("v2", 3));
  ASSERT_OK(served.status());
  ImpressionInput in;
  in.user = "v2";
  in.recommendation_id = "0123456789abcdef";  // never served
  EXPECT_THAT(engine->RecordImpression(in).status(), StatusIs(StatusCode::kNotFound));
  in.recommendation_id = served->recommendation_id;
  in.items = {served->items[0].item, "not-served"};
  Status st = engine->RecordImpression(in).status();
  EXPECT_THAT(st, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(st.field(), "items[1]");
  in.items = {};
  in.user = "someone-else";
  EXPECT_EQ(engine->RecordImpression(in).status().field(), "user");
  // The refusals released the list: its user may still record it.
  in.user = "v2";
  EXPECT_OK(engine->RecordImpression(in).status());
  ImpressionInput explicit_list;
  explicit_list.user = "v2";
  explicit_list.items = {"i1", "never-seen"};
  EXPECT_EQ(engine->RecordImpression(explicit_list).status().field(), "items[1]");
  explicit_list.items = {"i1", "i2", "i1"};
  EXPECT_EQ(engine->RecordImpression(explicit_list).status().field(), "items[2]");
  explicit_list.items = {"i1", ""};
  EXPECT_EQ(engine->RecordImpression(explicit_list).status().field(), "items[1]");
  explicit_list.items = {};
  EXPECT_THAT(engine->RecordImpression(explicit_list).status(), StatusIs(StatusCode::kNotFound));
  explicit_list.items = {"i1"};
  explicit_list.user = "";
  EXPECT_EQ(engine->RecordImpression(explicit_list).status().field(), "user");
  explicit_list.user = "v2";
  explicit_list.ts_ms = 1'700'000'000;  // seconds
  EXPECT_EQ(engine->RecordImpression(explicit_list).status().field(), "ts");
  EXPECT_EQ(LoggedImpressions(dir.path()).size(), 1u);
}

TEST(ImpressionRecorderTest, ExplicitListsHaveUnknownPropensities) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  ASSERT_OK(engine->PutItem(Item{"fresh", "Fresh", {}, {}, {}, 0}).status());
  ImpressionInput in;
  in.user = "v3";
  in.items = {"i3", "fresh", "i1"};  // an item put just before counts as known
  in.ts_ms = kT0 + 1000;
  auto recorded = engine->RecordImpression(in);
  ASSERT_OK(recorded.status());
  EXPECT_FALSE(recorded->from_cache);
  EXPECT_EQ(recorded->items, 3u);
  // With an id the cache does not hold: logged once under that id.
  in.recommendation_id = "client-list-1";
  ASSERT_OK(engine->RecordImpression(in).status());
  EXPECT_TRUE(engine->RecordImpression(in)->duplicate);
  const auto logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 2u);
  const Impression& imp = logged[0].second;
  EXPECT_EQ(imp.ts_ms, kT0 + 1000);
  EXPECT_TRUE(imp.recommendation_id.empty());
  EXPECT_TRUE(imp.policy.empty());
  EXPECT_EQ(imp.model_version, 0u);
  ASSERT_EQ(imp.items.size(), 3u);
  EXPECT_EQ(imp.items[1].item, "fresh");
  EXPECT_EQ(imp.items[2].position, 2u);
  EXPECT_TRUE(std::isnan(imp.items[0].propensity));
  EXPECT_TRUE(std::isnan(imp.items[0].step));
  EXPECT_EQ(logged[1].second.recommendation_id, "client-list-1");
}

TEST(ImpressionRecorderTest, RecordImpressionLogsTheAnswerBeforeReturningIt) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  RecommendQuery q = Query("fresh-user", 5);
  q.record_impression = true;
  auto served = engine->Recommend(q);
  ASSERT_OK(served.status());
  ASSERT_GT(served->impression_seq, 0u);
  EXPECT_EQ(engine->stats().last_seq, served->impression_seq);
  ImpressionInput in;
  in.user = "fresh-user";
  in.recommendation_id = served->recommendation_id;
  EXPECT_TRUE(engine->RecordImpression(in)->duplicate);
  const auto logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].first, served->impression_seq);
  EXPECT_EQ(logged[0].second.items.size(), 5u);
}

TEST(ImpressionRecorderTest, AnEventNamingAServedListLogsItOnceBeforeTheEvent) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  auto served = engine->Recommend(Query("v5", 3));
  ASSERT_OK(served.status());
  const uint64_t before = engine->stats().last_seq;
  Event click = Click("v5", served->items[1].item, kT0 + 100);
  click.recommendation_id = served->recommendation_id;
  Event buy = click;
  buy.type = "purchase";
  auto ingested = engine->Ingest(std::vector<Event>{click, buy});
  ASSERT_OK(ingested.status());
  EXPECT_EQ(ingested->accepted, 2u);
  EXPECT_EQ(ingested->impressions, 1u);
  EXPECT_EQ(ingested->first_seq, before + 1);
  EXPECT_EQ(ingested->last_seq, before + 3);
  // Named again later: the list is not logged again; a recorded list is not re-logged either.
  ingested = engine->Ingest(std::vector<Event>{click});
  EXPECT_EQ(ingested->impressions, 0u);
  ImpressionInput in;
  in.user = "v5";
  in.recommendation_id = served->recommendation_id;
  EXPECT_TRUE(engine->RecordImpression(in)->duplicate);
  // An id the cache does not hold is logged with the event as it is (the learner counts it).
  click.recommendation_id = "ffffffffffffffff";
  EXPECT_EQ(engine->Ingest(std::vector<Event>{click})->impressions, 0u);
  ASSERT_OK(engine->Close());
  const auto logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].first, before + 1);  // just before the first event naming it
  EXPECT_EQ(logged[0].second.items.size(), 3u);
  wal::testing::ReadResult log = wal::testing::ReadAll(io::Env::Default(), dir.path() + "/wal");
  ASSERT_OK(log.status);
  EXPECT_EQ(log.records[before + 1].event.recommendation_id, served->recommendation_id);
}

TEST(ImpressionRecorderTest, AnEventWithImpressionsLogsAnExplicitList) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  Event click = Click("v6", "brand-new", kT0 + 50);
  click.impressions = {"i2", "brand-new", "i5"};  // the event's own item is new: accepted
  const uint64_t before = engine->stats().last_seq;
  auto ingested = engine->Ingest(std::vector<Event>{click});
  ASSERT_OK(ingested.status());
  EXPECT_EQ(ingested->impressions, 1u);
  EXPECT_EQ(ingested->last_seq, before + 2);
  auto logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].second.ts_ms, kT0 + 50);
  EXPECT_EQ(logged[0].second.items[1].item, "brand-new");
  // A list with an item never seen refuses the whole batch, naming it.
  Event bad = Click("v6", "i1", kT0 + 60);
  bad.impressions = {"i1", "ghost"};
  std::vector<Event> batch = {Click("v6", "i2", kT0 + 55), bad};
  EXPECT_THAT(engine->Ingest(batch).status(), StatusIs(StatusCode::kInvalidArgument));
  const std::vector<EventError> errors = engine->Validate(batch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 1u);
  EXPECT_EQ(errors[0].field, "impressions[1]");
  EXPECT_EQ(engine->stats().last_seq, before + 2);  // nothing of it logged
  // With a cached recommendation id: the served subset, at served positions, propensities known.
  auto served = engine->Recommend(Query("v6", 4));
  ASSERT_OK(served.status());
  Event named = Click("v6", served->items[2].item, kT0 + 70);
  named.recommendation_id = served->recommendation_id;
  named.impressions = {served->items[2].item, served->items[3].item};
  ASSERT_EQ(engine->Ingest(std::vector<Event>{named})->impressions, 1u);
  logged = LoggedImpressions(dir.path());
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1].second.recommendation_id, served->recommendation_id);
  EXPECT_EQ(logged[1].second.items[0].position, 2u);
  EXPECT_EQ(logged[1].second.items[0].propensity, 1.0);
  // A duplicated event (same id) logs neither the event nor its list again.
  Event with_id = click;
  with_id.id = "e-1";
  ASSERT_EQ(engine->Ingest(std::vector<Event>{with_id})->impressions, 1u);
  auto dup = engine->Ingest(std::vector<Event>{with_id});
  EXPECT_EQ(dup->duplicates, 1u);
  EXPECT_EQ(dup->impressions, 0u);
}

TEST(ImpressionRecorderTest, ConcurrentRecordingsOfOneListLogItOnce) {
  TempDir dir;
  auto engine = OpenWithEvents(dir.path());
  for (int round = 0; round < 5; ++round) {
    auto served = engine->Recommend(Query("racer", 3));
    ASSERT_OK(served.status());
    std::atomic<int> logged{0};
    std::atomic<int> duplicates{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        if (t % 2 == 0) {
          ImpressionInput in;
          in.user = "racer";
          in.recommendation_id = served->recommendation_id;
          Result<ImpressionResult> r = engine->RecordImpression(in);
          (r.ok() && !r->duplicate ? logged : duplicates)++;
        } else {  // an event naming the list races with the explicit recordings
          Event click = Click("racer", served->items[0].item, kT0 + 500);
          click.recommendation_id = served->recommendation_id;
          Result<IngestResult> r = engine->Ingest(std::vector<Event>{click});
          (r.ok() && r->impressions == 1 ? logged : duplicates)++;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    EXPECT_EQ(logged.load(), 1) << round;
    EXPECT_EQ(duplicates.load(), 5) << round;
  }
  EXPECT_EQ(LoggedImpressions(dir.path()).size(), 5u);
}

TEST(ImpressionRecorderTest, LoopOptionsAreCheckedAtOpen) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.loop.attribution_window_ms = 0;
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.attribution_window_ms");
  o = Options(dir.path());
  o.loop.policy = "nonsense";
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.policy");
  o = Options(dir.path());
  o.loop.reward_weights = "click=1,click=2";
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.reward_weights");
  o.loop.reward_weights = "click=x";
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.reward_weights");
  o = Options(dir.path());
  o.loop.position_bias = "sideways";
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.position_bias");
  o = Options(dir.path());
  o.loop.weight_cap = 0.5;
  EXPECT_EQ(Engine::Open(o).status().field(), "loop.weight_cap");
  o = Options(dir.path());
  o.loop.served_cache = 0;  // allowed: nothing cached, explicit lists only
  auto engine = Engine::Open(o);
  ASSERT_OK(engine.status());
}

}  // namespace
}  // namespace flywheel
