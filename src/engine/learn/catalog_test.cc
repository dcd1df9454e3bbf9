// The catalogue: control records, the Catalog state, and the engine's item/user operations
// (put, delete, forget) through restarts.
#include "engine/learn/catalog.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/log_writer.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

constexpr TimestampMs kT0 = 1'700'000'000'000;

Item FullItem() {
  return Item{"i9", "Heat", {"crime", "drama"}, {"1990s", "a:b"}, {{"year", "1995"}}, kT0};
}

TEST(CatalogRecordTest, ControlRecordsRoundTrip) {
  const Item item = FullItem();
  const Event put = ItemPutRecord(item);
  EXPECT_TRUE(IsControl(put));
  Result<Item> back = DecodeItemPut(put);
  ASSERT_OK(back.status());
  EXPECT_EQ(back->id, item.id);
  EXPECT_EQ(back->title, item.title);
  EXPECT_EQ(back->categories, item.categories);
  EXPECT_EQ(back->tags, item.tags);
  EXPECT_EQ(back->attributes, item.attributes);
  EXPECT_EQ(back->created_ms, item.created_ms);
  const User user{"u1", {{"age", "25"}, {"title", "x"}}};
  Result<User> user_back = DecodeUserPut(UserPutRecord(user));
  ASSERT_OK(user_back.status());
  EXPECT_EQ(user_back->attributes, user.attributes);
  EXPECT_TRUE(IsControl(ItemDeleteRecord("i1")));
  EXPECT_TRUE(IsControl(UserDeleteRecord("u1")));
  // Out-of-order keys are corruption, not silently reinterpreted.
  Event bad = put;
  std::swap(bad.context[1], bad.context[3]);
  EXPECT_THAT(DecodeItemPut(bad).status(), StatusIs(StatusCode::kCorruption));
  EXPECT_FALSE(IsControl(Event{"u", "i", "view", 1.0, kT0, "", {}}));
}

TEST(CatalogStateTest, PutDeleteTrendingAndSaveLoad) {
  Catalog catalog(/*trending_half_life_ms=*/1000);
  catalog.EnsureItem(0, kT0);
  catalog.PutItem(1, FullItem(), kT0 + 5);
  EXPECT_EQ(catalog.num_items(), 2u);
  EXPECT_EQ(catalog.item(0)->first_seen_ms, kT0);
  ASSERT_TRUE(catalog.FindCategory("drama").has_value());
  EXPECT_TRUE(catalog.InCategory(1, *catalog.FindCategory("drama")));
  EXPECT_FALSE(catalog.InCategory(0, *catalog.FindCategory("drama")));
  catalog.CountEvent(0, 2.0f, kT0);
  catalog.CountEvent(0, 2.0f, kT0 + 1000);
  EXPECT_NEAR(catalog.Trending(0, kT0 + 1000), 3.0, 1e-5);  // 2 halved + 2
  EXPECT_NEAR(catalog.Trending(0, kT0 + 2000), 1.5, 1e-5);
  catalog.CountEvent(0, 4.0f, kT0);  // late event: decayed to the count's time
  EXPECT_NEAR(catalog.Trending(0, kT0 + 1000), 5.0, 1e-5);
  EXPECT_NEAR(catalog.TrendingLog2(0, kT0 + 1000), std::log2(5.0), 1e-5);
  // Ten years later the count underflows, its logarithm does not.
  const TimestampMs later = kT0 + 10LL * 365 * 24 * 3600 * 1000;
  EXPECT_EQ(catalog.Trending(0, later), 0.0);
  EXPECT_NEAR(catalog.TrendingLog2(0, later), std::log2(5.0) - 10.0 * 365 * 24 * 3600, 1.0);
  EXPECT_EQ(catalog.TrendingLog2(1, kT0), -std::numeric_limits<double>::infinity());
  catalog.DeleteItem(0);
  catalog.DeleteItem(0);
  EXPECT_TRUE(catalog.deleted(0));
  EXPECT_EQ(catalog.deleted_count(), 1u);
  catalog.PutUser(7, {{"age", "25"}});
  catalog.PutUser(3, {{"age", "30"}});
  catalog.ForgetUser(3);
  EXPECT_EQ(catalog.user_attributes(3), nullptr);

  std::string bytes;
  base::ByteWriter w(&bytes);
  catalog.Save(&w);
  Catalog loaded;
  base::ByteReader r(bytes, "catalog");
  ASSERT_OK(loaded.Load(&r));
  ASSERT_OK(r.ExpectEnd());
  EXPECT_TRUE(loaded.deleted(0));
  EXPECT_EQ(loaded.deleted_count(), 1u);
  EXPECT_EQ(loaded.item(1)->title, "Heat");
  EXPECT_NEAR(loaded.Trending(0, kT0 + 1000), 5.0, 1e-5);
  ASSERT_NE(loaded.user_attributes(7), nullptr);
  EXPECT_EQ(loaded.user_attributes(7)->at(0).second, "25");
  std::string again;
  base::ByteWriter w2(&again);
  loaded.Save(&w2);
  EXPECT_EQ(again, bytes);
  for (size_t cut = 0; cut < bytes.size(); cut += 5) {
    Catalog broken;
    base::ByteReader partial(std::string_view(bytes).substr(0, cut), "catalog");
    EXPECT_FALSE(broken.Load(&partial).ok()) << cut;
  }
}

// --- engine ---------------------------------------------------------------------------------

std::vector<Event> Events(const std::string& user, int first, int n) {
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(Event{user,
                           "i" + std::to_string((first + i) % 7),
                           "purchase",
                           1.0,
                           kT0 + (first + i) * 1000,
                           "",
                           {}});
  }
  return events;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"pop", {}}, ModelSpec{"bpr", {{"dim", "8"}}}};
  return o;
}

RecommendQuery Query(const std::string& user, int k, bool exclude_seen, const std::string& model) {
  RecommendQuery q;
  q.user = user;
  q.k = k;
  q.exclude_seen = exclude_seen;
  q.model = model;
  return q;
}

std::vector<std::string> Ids(const RecommendResult& r) {
  std::vector<std::string> ids;
  for (const auto& item : r.items) {
    ids.push_back(item.item);
  }
  return ids;
}

// Every byte of every file under `dir`.
std::string AllBytes(const std::string& dir) {
  std::string all;
  io::Env* env = io::Env::Default();
  for (const std::string& sub : {std::string("wal"), std::string("snapshots")}) {
    const std::string path = io::JoinPath(dir, sub);
    auto names = env->ListDir(path);
    if (!names.ok()) {
      continue;
    }
    for (const std::string& name : *names) {
      std::string bytes;
      EXPECT_OK(io::ReadFileToString(env, io::JoinPath(path, name), &bytes));
      all += bytes;
    }
  }
  return all;
}

TEST(EngineCatalogTest, DeletedItemsAreNeverRecommendedAlsoAfterRestart) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    EngineOptions o = Options(dir.path());
    o.snapshot_on_close = round == 1;  // restart from the log, then from a snapshot
    auto engine = Engine::Open(o);
    ASSERT_OK(engine.status());
    if (round == 0) {
      auto events = Events("u1", 0, 40);
      ASSERT_OK((*engine)->Ingest(events).status());
      auto del = (*engine)->DeleteItem("i3");
      ASSERT_OK(del.status());
      EXPECT_EQ(*del, 41u);
      ASSERT_OK((*engine)->WaitForApplied(41, 10000));
    }
    RecommendQuery q = Query("u2", 10, true, "pop");
    auto r = (*engine)->Recommend(q);
    ASSERT_OK(r.status());
    EXPECT_EQ(r->items.size(), 6u) << round;
    EXPECT_THAT(Ids(*r), ::testing::Not(::testing::Contains("i3")));
    q.model = "bpr";
    EXPECT_THAT(Ids(*(*engine)->Recommend(q)), ::testing::Not(::testing::Contains("i3")));
    EXPECT_EQ((*engine)->stats().items, 6u);
    EXPECT_EQ((*engine)->stats().deleted_items, 1u);
    ASSERT_OK((*engine)->Close());
  }
  // A put brings it back.
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  auto seq = (*engine)->PutItem(Item{"i3", "back", {"x"}, {}, {}, 0});
  ASSERT_OK(seq.status());
  ASSERT_OK((*engine)->WaitForApplied(*seq, 10000));
  EXPECT_THAT(Ids(*(*engine)->Recommend(Query("u2", 10, true, "pop"))), ::testing::Contains("i3"));
  EXPECT_EQ((*engine)->stats().deleted_items, 0u);
}

TEST(EngineCatalogTest, InvalidCatalogueInputNamesTheFieldAndLogsNothing) {
  TempDir dir;
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  EXPECT_THAT((*engine)->PutItem(Item{"", "", {}, {}, {}, 0}).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'id'")));
  EXPECT_THAT((*engine)->PutItem(Item{"i1", "", {""}, {}, {}, 0}).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'categories[0]'")));
  EXPECT_THAT((*engine)->PutUser(User{"u1", {{"k", std::string(5000, 'v')}}}).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("field 'attributes.k'")));
  EXPECT_THAT((*engine)->ForgetUser(std::string(300, 'u')).status(),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ((*engine)->stats().last_seq, 0u);
  // Public events can never carry a control type.
  std::vector<Event> forged = {Event{"u1", "i1", "$user.delete", 1.0, kT0, "", {}}};
  EXPECT_THAT((*engine)->Ingest(forged).status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST(EngineCatalogTest, ForgottenUserIsGoneFromServingAndFromDisk) {
  TempDir dir;
  const std::string secret = "user-secret-4711";
  {
    EngineOptions o = Options(dir.path());
    o.snapshot_every = 25;  // older snapshots exist that hold the user
    auto engine = Engine::Open(o);
    ASSERT_OK(engine.status());
    ASSERT_OK((*engine)->PutUser(User{secret, {{"city", "secret-city-99"}}}).status());
    auto mine = Events(secret, 0, 30);
    auto others = Events("u2", 3, 30);
    ASSERT_OK((*engine)->Ingest(mine).status());
    ASSERT_OK((*engine)->Ingest(others).status());
    ASSERT_OK((*engine)->WaitForApplied(61, 10000));
    EXPECT_EQ((*engine)->stats().users, 2u);
    ASSERT_TRUE((*engine)->Recommend(Query(secret, 5, true, "bpr"))->known_user);
    ASSERT_NE(AllBytes(dir.path()).find(secret), std::string::npos);

    auto forgotten = (*engine)->ForgetUser(secret);
    ASSERT_OK(forgotten.status());
    EXPECT_EQ(forgotten->seq, 62u);
    EXPECT_GE(forgotten->snapshot_seq, 62u);
    auto r = (*engine)->Recommend(Query(secret, 5, true, "bpr"));
    ASSERT_OK(r.status());
    EXPECT_FALSE(r->known_user);
    EXPECT_EQ((*engine)->stats().users, 1u);
    EXPECT_EQ((*engine)->stats().forgotten_users, 1u);
    const std::string bytes = AllBytes(dir.path());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << "the id is still on disk";
    EXPECT_EQ(bytes.find("secret-city-99"), std::string::npos) << "attributes still on disk";
    // The same id later is a new user with an empty history.
    auto again = Events(secret, 100, 2);
    ASSERT_OK((*engine)->Ingest(again).status());
    ASSERT_OK((*engine)->WaitForApplied(64, 10000));
    EXPECT_EQ((*engine)->stats().users, 2u);
    ASSERT_OK((*engine)->Close());
  }
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  EXPECT_EQ((*engine)->stats().users, 2u);
  EXPECT_EQ((*engine)->stats().forgotten_users, 1u);
  // Only the two new events remain in the user's history: 5 of the 7 items are unseen.
  auto r = (*engine)->Recommend(Query(secret, 10, true, "pop"));
  ASSERT_OK(r.status());
  EXPECT_EQ(r->items.size(), 5u);
}

TEST(EngineCatalogTest, RecoveryFinishesAnInterruptedPurge) {
  TempDir dir;
  {
    auto engine = Engine::Open(Options(dir.path()));
    ASSERT_OK(engine.status());
    ASSERT_OK((*engine)->Close());  // writes engine.json
  }
  {
    // A log that ends right after a deletion: the process died before the purge.
    wal::WriterOptions wo;
    auto writer = wal::LogWriter::Open(io::Env::Default(), io::JoinPath(dir.path(), "wal"), wo, 1);
    ASSERT_OK(writer.status());
    std::vector<Event> records = Events("gone-user-1", 0, 10);
    records.push_back(UserDeleteRecord("gone-user-1"));
    ASSERT_OK((*writer)->AppendBatch(1, records));
    ASSERT_OK((*writer)->Close());
  }
  ASSERT_NE(AllBytes(dir.path()).find("gone-user-1"), std::string::npos);
  auto engine = Engine::Open(Options(dir.path()));
  ASSERT_OK(engine.status());
  EXPECT_EQ((*engine)->stats().applied_seq, 11u);
  EXPECT_EQ((*engine)->stats().users, 0u);
  EXPECT_EQ(AllBytes(dir.path()).find("gone-user-1"), std::string::npos);
  EXPECT_THAT((*engine)->stats().recovery_messages,
              ::testing::Contains(HasSubstr("user deletion")));
}

}  // namespace
}  // namespace flywheel::engine
