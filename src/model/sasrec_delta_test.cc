// Sasrec's delta replication: a replica with learning off that applies the trainer's deltas
// serves exactly what the trainer serves (ids only and with content features), rows-only deltas
// leave the encoder behind until a dense one, a fresh, loaded or fitted model exports in full,
// and bad deltas are refused without touching the model.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flywheel/event.h"

#include "model/model_test_util.h"
#include "model/sasrec.h"

namespace flywheel::model {
namespace {

SasrecOptions DeltaOptions(bool content) {
  SasrecOptions o;
  o.encoder.dim = 16;
  o.encoder.heads = 2;
  o.encoder.blocks = 1;
  o.encoder.max_len = 8;
  o.threads = 1;
  o.seed = 11;
  o.replay = 2;
  o.content = content;
  o.feature_buckets = 64;
  return o;
}

// A trainer and a replica fed the same events and catalogue, the replica with learning off.
struct Pair {
  explicit Pair(bool content) {
    trainer = std::move(Sasrec::Create(DeltaOptions(content))).value();
    replica = std::move(Sasrec::Create(DeltaOptions(content))).value();
    replica->SetLearning(false);
  }
  void Feed(const std::vector<data::Interaction>& events) {
    for (const data::Interaction& e : events) {
      trainer->Observe(e, trainer_users.Get(e.user));
      trainer_users.Get(e.user).Add(e);
      replica->Observe(e, replica_users.Get(e.user));
      replica_users.Get(e.user).Add(e);
    }
  }
  void Content(ItemIdx item, const Item& content) {
    trainer->SetItemContent(item, content);
    replica->SetItemContent(item, content);
  }
  // Exports from the trainer and applies to the replica; returns the delta's size.
  size_t Ship(bool dense, bool* full) {
    std::string bytes;
    base::ByteWriter w(&bytes);
    DeltaInfo info;
    EXPECT_TRUE(
        trainer->ExportDelta(dense ? DeltaScope::kDense : DeltaScope::kRows, &w, &info).ok());
    *full = info.full;
    base::ByteReader r(bytes, "delta");
    changed.clear();
    const Status st = replica->ApplyDelta(&r, &changed);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return bytes.size();
  }
  std::unique_ptr<Sasrec> trainer, replica;
  std::vector<ItemIdx> changed;  // by the last Ship
  UserStateStore trainer_users, replica_users;
};

std::vector<ScoredItem> Top(const Sasrec& model, const UserStateStore& users, UserIdx user) {
  std::vector<ScoredItem> out;
  RecommendRequest request;
  request.user = user;
  request.k = 10;
  request.user_state = &users.Find(user);
  model.Recommend(request, &out);
  return out;
}

// Number of users (of `users`) whose lists or scores differ between trainer and replica.
int Differing(const Pair& p, int users) {
  int differing = 0;
  for (UserIdx u = 0; u < static_cast<UserIdx>(users); ++u) {
    const auto a = Top(*p.trainer, p.trainer_users, u);
    const auto b = Top(*p.replica, p.replica_users, u);
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i) {
      same = a[i].item == b[i].item && a[i].score == b[i].score;
    }
    differing += same ? 0 : 1;
  }
  return differing;
}

constexpr int kUsers = 30;

std::vector<data::Interaction> Chunk(int n) {
  return test::GroupedStream(kUsers, 40, 4, 150, 100 + static_cast<uint64_t>(n), 1000);
}

TEST(SasrecDeltaTest, ReplicaServesExactlyWhatTheTrainerServes) {
  Pair p(false);
  bool full = false;
  p.Ship(true, &full);
  EXPECT_TRUE(full);  // the first export holds everything
  for (int n = 0; n < 4; ++n) {
    p.Feed(Chunk(n));
    EXPECT_GT(Differing(p, kUsers), 0) << "the trainer learned; the replica must not have";
    p.Ship(true, &full);
    EXPECT_FALSE(full);
    EXPECT_FALSE(p.changed.empty()) << "learned rows are the items to re-index";
    EXPECT_EQ(Differing(p, kUsers), 0) << "chunk " << n;
  }
  EXPECT_EQ(p.replica->steps(), 0u);
  EXPECT_GT(p.trainer->steps(), 0u);
}

TEST(SasrecDeltaTest, ContentFeatureRowsAndRefreshedItemsMatch) {
  Pair p(true);
  for (ItemIdx i = 0; i < 40; ++i) {
    Item item;
    item.id = "i" + std::to_string(i);
    item.categories = {"c" + std::to_string(i % 5)};
    p.Content(i, item);
  }
  bool full = false;
  p.Ship(true, &full);
  EXPECT_TRUE(full);
  for (int n = 0; n < 3; ++n) {
    p.Feed(Chunk(n));
    EXPECT_GT(Differing(p, kUsers), 0);
    p.Ship(true, &full);
    EXPECT_EQ(Differing(p, kUsers), 0) << "chunk " << n;
  }
}

TEST(SasrecDeltaTest, RowsOnlyDeltasLeaveTheEncoderBehindUntilADenseOne) {
  Pair p(false);
  bool full = false;
  p.Ship(true, &full);
  p.Feed(Chunk(0));
  const size_t rows_only = p.Ship(false, &full);
  EXPECT_GT(Differing(p, kUsers), 0) << "the encoder moved on the trainer only";
  const size_t dense = p.Ship(true, &full);  // no new rows: the encoder alone
  EXPECT_EQ(Differing(p, kUsers), 0);
  EXPECT_GT(rows_only, 0u);
  EXPECT_GT(dense, 0u);
  // Nothing learned since: a dense export carries no encoder (unchanged) and no rows.
  const size_t idle = p.Ship(true, &full);
  EXPECT_LT(idle, 128u);
}

TEST(SasrecDeltaTest, LoadedOrFittedModelsExportInFull) {
  Pair p(false);
  bool full = false;
  p.Ship(true, &full);
  p.Feed(Chunk(0));
  std::string state;
  base::ByteWriter w(&state);
  ASSERT_TRUE(p.trainer->SaveState(&w).ok());
  auto loaded = std::move(Sasrec::Create(DeltaOptions(false))).value();
  base::ByteReader r(state, "state");
  ASSERT_TRUE(loaded->LoadState(&r).ok());
  std::string bytes;
  base::ByteWriter dw(&bytes);
  DeltaInfo info;
  ASSERT_TRUE(loaded->ExportDelta(DeltaScope::kRows, &dw, &info).ok());
  EXPECT_TRUE(info.full);
  ASSERT_TRUE(p.trainer->Fit(Chunk(1)).ok());
  bytes.clear();
  ASSERT_TRUE(p.trainer->ExportDelta(DeltaScope::kRows, &dw, &info).ok());
  EXPECT_TRUE(info.full);
  bytes.clear();
  ASSERT_TRUE(p.trainer->ExportDelta(DeltaScope::kRows, &dw, &info).ok());
  EXPECT_FALSE(info.full);
  EXPECT_EQ(info.rows, 0u);
  EXPECT_FALSE(info.dense);
  bytes.clear();
  ASSERT_TRUE(p.trainer->ExportDelta(DeltaScope::kFull, &dw, &info).ok());
  EXPECT_TRUE(info.full) << "a full export on request";
  EXPECT_TRUE(info.dense);
}

TEST(SasrecDeltaTest, BadDeltasAreRefusedAndChangeNothing) {
  Pair p(false);
  bool full = false;
  p.Ship(true, &full);
  p.Feed(Chunk(0));
  std::string bytes;
  base::ByteWriter w(&bytes);
  DeltaInfo info;
  ASSERT_TRUE(p.trainer->ExportDelta(DeltaScope::kDense, &w, &info).ok());
  const auto before = Top(*p.replica, p.replica_users, 1);
  std::vector<ItemIdx> changed;
  for (size_t at : {size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    base::ByteReader r(bad, "delta");
    EXPECT_EQ(p.replica->ApplyDelta(&r, &changed).code(), StatusCode::kCorruption) << "byte " << at;
  }
  base::ByteReader truncated(std::string_view(bytes).substr(0, bytes.size() - 9), "delta");
  EXPECT_EQ(p.replica->ApplyDelta(&truncated, &changed).code(), StatusCode::kCorruption);
  auto other = std::move(Sasrec::Create([] {
                 SasrecOptions o = DeltaOptions(false);
                 o.encoder.dim = 8;
                 return o;
               }()))
                   .value();
  base::ByteReader r(bytes, "delta");
  EXPECT_EQ(other->ApplyDelta(&r, &changed).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(changed.empty());
  const auto after = Top(*p.replica, p.replica_users, 1);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].item, after[i].item);
    EXPECT_EQ(before[i].score, after[i].score);
  }
}

}  // namespace
}  // namespace flywheel::model
