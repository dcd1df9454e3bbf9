// Tests of the AnnIndex implementations: FlatIndex against a naive reference, HnswIndex against
// FlatIndex (recall), updates, removal, filters, errors, determinism and one writer racing
// readers (run under TSan by .ci/run). Synthetic seeded data only; no timings.
#include "ann/ann_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/types.h"

#include "ann/flat_index.h"
#include "ann/hnsw_index.h"
#include "ann/recall.h"
#include "base/random.h"
#include "testing/status_matchers.h"

// Read by TSan at start-up. hnswlib's addPoint locks per-node mutexes in data-dependent order
// (it was written for concurrent inserts); HnswIndex serialises every addPoint under its
// exclusive lock, so those orders never interleave and the lock-order reports are spurious.
// Data-race reports stay on.
extern "C" const char* __tsan_default_suppressions() {
  return "deadlock:*HierarchicalNSW*\n";
}

namespace flywheel::ann {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

std::span<const float> Row(const std::vector<float>& rows, uint32_t dim, size_t i) {
  return std::span<const float>(rows).subspan(i * dim, dim);
}

std::unique_ptr<AnnIndex> Make(const std::string& kind, uint32_t dim,
                               const AnnParams& params = {}) {
  Result<std::unique_ptr<AnnIndex>> index = MakeAnnIndex(kind, dim, params);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return std::move(index).value();
}

void Fill(AnnIndex* index, const std::vector<float>& rows) {
  const uint32_t dim = index->dim();
  for (size_t i = 0; i < rows.size() / dim; ++i) {
    ASSERT_TRUE(index->Upsert(static_cast<uint32_t>(i), Row(rows, dim, i)).ok());
  }
}

std::vector<Neighbor> SearchOrDie(const AnnIndex& index, std::span<const float> query, int k,
                                  IdFilter filter = {}) {
  std::vector<Neighbor> out;
  const Status status = index.Search(query, k, filter, &out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

// The definition: score every present id in the same summation order, sort, cut.
std::vector<Neighbor> NaiveTopK(const std::vector<float>& rows, const std::vector<bool>& present,
                                uint32_t dim, std::span<const float> query, int k,
                                const std::vector<bool>* allowed = nullptr) {
  std::vector<Neighbor> all;
  for (size_t i = 0; i < present.size(); ++i) {
    if (!present[i] || (allowed != nullptr && !(*allowed)[i])) {
      continue;
    }
    float score = 0.0f;
    for (size_t k2 = 0; k2 < dim; ++k2) {
      score += query[k2] * rows[i * dim + k2];
    }
    all.push_back({static_cast<uint32_t>(i), score});
  }
  std::sort(all.begin(), all.end(), BetterNeighbor);
  all.resize(std::min(all.size(), static_cast<size_t>(k)));
  return all;
}

std::vector<uint32_t> Ids(const std::vector<Neighbor>& neighbors) {
  std::vector<uint32_t> ids;
  for (const Neighbor& n : neighbors) {
    ids.push_back(n.id);
  }
  return ids;
}

bool Sorted(const std::vector<Neighbor>& neighbors) {
  return std::is_sorted(neighbors.begin(), neighbors.end(), BetterNeighbor);
}

TEST(FlatIndexTest, MatchesNaiveReferenceWithRemovalsAndFilters) {
  constexpr uint32_t kDim = 13;  // not a multiple of 8: exercises the panel tail
  constexpr size_t kN = 3000;    // spans three chunks
  std::vector<float> rows = ClusteredVectors({.n = kN, .dim = kDim, .seed = 7});
  const std::vector<float> queries = ClusteredVectors({.n = 40, .dim = kDim, .seed = 8});
  FlatIndex index(kDim);
  std::vector<bool> present(kN, false);
  base::Rng rng(9);
  for (size_t i = 0; i < kN; ++i) {
    if (rng.Bernoulli(0.9)) {  // leave holes in the id space
      ASSERT_OK(index.Upsert(static_cast<uint32_t>(i), Row(rows, kDim, i)));
      present[i] = true;
    }
  }
  for (size_t i = 0; i < kN; i += 7) {
    EXPECT_EQ(index.Remove(static_cast<uint32_t>(i)), static_cast<bool>(present[i]));
    present[i] = false;
  }
  std::vector<bool> allowed(kN);
  for (size_t i = 0; i < kN; ++i) {
    allowed[i] = i % 3 != 0;
  }
  EXPECT_EQ(index.size(), static_cast<size_t>(std::count(present.begin(), present.end(), true)));
  for (size_t q = 0; q < 40; ++q) {
    for (int k : {1, 10, 100}) {
      const auto query = Row(queries, kDim, q);
      EXPECT_EQ(SearchOrDie(index, query, k), NaiveTopK(rows, present, kDim, query, k));
      EXPECT_EQ(SearchOrDie(index, query, k, [&](uint32_t id) { return allowed[id]; }),
                NaiveTopK(rows, present, kDim, query, k, &allowed));
    }
  }
}

TEST(FlatIndexTest, TiesBreakByIdAndKLargerThanSize) {
  FlatIndex index(2);
  const std::vector<float> same = {1.0f, 1.0f};
  for (uint32_t id : {5u, 3u, 9u}) {
    ASSERT_OK(index.Upsert(id, same));
  }
  ASSERT_OK(index.Upsert(4, std::vector<float>{2.0f, 2.0f}));
  const std::vector<Neighbor> top = SearchOrDie(index, same, 10);
  EXPECT_EQ(Ids(top), (std::vector<uint32_t>{4, 3, 5, 9}));
  EXPECT_EQ(top[0].score, 4.0f);
  EXPECT_TRUE(SearchOrDie(index, same, 0).empty());
}

class AnnIndexTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AnnIndexTest, EmptyIndexReturnsNothing) {
  const auto index = Make(GetParam(), 4);
  EXPECT_TRUE(SearchOrDie(*index, std::vector<float>{1, 2, 3, 4}, 10).empty());
  EXPECT_EQ(index->size(), 0u);
  EXPECT_FALSE(index->Remove(3));
}

TEST_P(AnnIndexTest, RejectsBadInput) {
  const auto index = Make(GetParam(), 4);
  const std::vector<float> good = {1, 2, 3, 4};
  EXPECT_THAT(index->Upsert(1, std::vector<float>{1, 2, 3}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("expected dim 4")));
  EXPECT_THAT(index->Upsert(1, std::vector<float>{1, std::nanf(""), 3, 4}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("vector[1] is not finite")));
  EXPECT_THAT(index->Upsert(1, std::vector<float>{1, 2, std::numeric_limits<float>::infinity(), 4}),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(index->Upsert(kNoItem, good), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(index->size(), 0u);
  ASSERT_OK(index->Upsert(1, good));
  std::vector<Neighbor> out;
  EXPECT_THAT(index->Search(std::vector<float>{1, 2}, 5, {}, &out),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("query has 2 values")));
  EXPECT_THAT(index->Search(std::vector<float>{1, 2, 3, -std::numeric_limits<float>::infinity()}, 5,
                            {}, &out),
              StatusIs(StatusCode::kInvalidArgument));
  EXPECT_THAT(index->Search(good, -1, {}, &out), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(Ids(SearchOrDie(*index, good, 5)), std::vector<uint32_t>{1});
}

TEST_P(AnnIndexTest, UpsertOfExistingIdMovesIt) {
  constexpr uint32_t kDim = 16;
  const std::vector<float> rows = ClusteredVectors({.n = 2000, .dim = kDim, .seed = 3});
  const auto index = Make(GetParam(), kDim);
  Fill(index.get(), rows);
  const std::vector<float> query(Row(rows, kDim, 0).begin(), Row(rows, kDim, 0).end());
  // Find an item outside the top 10, then point it along the query with a large norm.
  const std::vector<uint32_t> before = Ids(SearchOrDie(*index, query, 10));
  uint32_t mover = 1;
  while (std::count(before.begin(), before.end(), mover) != 0) {
    ++mover;
  }
  std::vector<float> boosted(query);
  for (float& x : boosted) {
    x *= 100.0f;
  }
  ASSERT_OK(index->Upsert(mover, boosted));
  EXPECT_EQ(index->size(), 2000u);
  std::vector<Neighbor> after = SearchOrDie(*index, query, 10);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].id, mover);
  // And away again: opposite direction, never in the top 10.
  for (float& x : boosted) {
    x = -x;
  }
  ASSERT_OK(index->Upsert(mover, boosted));
  after = SearchOrDie(*index, query, 10);
  EXPECT_THAT(Ids(after), ::testing::Not(::testing::Contains(mover)));
  EXPECT_EQ(after.size(), 10u);
}

TEST_P(AnnIndexTest, RemovedIdsNeverComeBackUntilUpserted) {
  constexpr uint32_t kDim = 16;
  const std::vector<float> rows = ClusteredVectors({.n = 3000, .dim = kDim, .seed = 4});
  const std::vector<float> queries = ClusteredVectors({.n = 50, .dim = kDim, .seed = 5});
  const auto index = Make(GetParam(), kDim);
  Fill(index.get(), rows);
  // Remove everything that ranks top-3 for any query: the hardest ids to exclude.
  std::vector<bool> removed(3000, false);
  for (size_t q = 0; q < 50; ++q) {
    for (const Neighbor& n : SearchOrDie(*index, Row(queries, kDim, q), 3)) {
      if (!removed[n.id]) {
        EXPECT_TRUE(index->Remove(n.id));
        removed[n.id] = true;
      }
    }
  }
  const auto removed_count = static_cast<size_t>(std::count(removed.begin(), removed.end(), true));
  EXPECT_EQ(index->size(), 3000u - removed_count);
  for (size_t q = 0; q < 50; ++q) {
    const std::vector<Neighbor> top = SearchOrDie(*index, Row(queries, kDim, q), 20);
    EXPECT_EQ(top.size(), 20u);
    for (const Neighbor& n : top) {
      EXPECT_FALSE(removed[n.id]) << n.id;
    }
  }
  // Reviving an id: Remove is idempotent, Upsert brings it back.
  const uint32_t id =
      static_cast<uint32_t>(std::find(removed.begin(), removed.end(), true) - removed.begin());
  EXPECT_FALSE(index->Remove(id));
  ASSERT_OK(index->Upsert(id, Row(rows, kDim, id)));
  EXPECT_EQ(index->size(), 3000u - removed_count + 1);
  std::vector<float> self(Row(rows, kDim, id).begin(), Row(rows, kDim, id).end());
  for (float& x : self) {
    x *= 100.0f;
  }
  ASSERT_OK(index->Upsert(id, self));
  EXPECT_EQ(SearchOrDie(*index, self, 1)[0].id, id);
}

TEST_P(AnnIndexTest, FilterIsHonouredAndStillReturnsK) {
  constexpr uint32_t kDim = 16;
  const std::vector<float> rows = ClusteredVectors({.n = 4000, .dim = kDim, .seed = 6});
  const std::vector<float> queries = ClusteredVectors({.n = 30, .dim = kDim, .seed = 7});
  const auto index = Make(GetParam(), kDim);
  Fill(index.get(), rows);
  for (const uint32_t keep_every : {2u, 10u, 100u}) {  // 50 %, 10 %, 1 % of ids pass
    const auto filter = [&](uint32_t id) { return id % keep_every == 0; };
    for (size_t q = 0; q < 30; ++q) {
      const std::vector<Neighbor> top = SearchOrDie(*index, Row(queries, kDim, q), 10, filter);
      EXPECT_EQ(top.size(), 10u) << "keep 1/" << keep_every;
      EXPECT_TRUE(Sorted(top));
      for (const Neighbor& n : top) {
        EXPECT_TRUE(filter(n.id)) << n.id;
      }
    }
  }
  // A filter that passes fewer than k ids returns exactly those.
  const std::vector<Neighbor> few =
      SearchOrDie(*index, Row(queries, kDim, 0), 10, [](uint32_t id) { return id < 3; });
  EXPECT_THAT(Ids(few), ::testing::UnorderedElementsAre(0, 1, 2));
}

TEST_P(AnnIndexTest, OneWriterManyReadersRaceFree) {
  // Run under TSan (.ci/run). Readers check what they can without knowing the writer's timing.
  constexpr uint32_t kDim = 8;
  constexpr size_t kN = 1500;
  const std::vector<float> rows = ClusteredVectors({.n = kN, .dim = kDim, .seed = 11});
  AnnParams params;
  params.initial_capacity = 64;  // the writer resizes the graph while readers search
  params.ef_construction = 40;
  const auto index = Make(GetParam(), kDim, params);
  std::atomic<bool> done{false};
  std::atomic<size_t> searches{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::vector<Neighbor> out;
      for (size_t q = static_cast<size_t>(r); !done.load(); q = (q + 7) % kN) {
        const auto filter = [](uint32_t id) { return id % 5 != 0; };
        ASSERT_OK(index->Search(Row(rows, kDim, q), 10, filter, &out));
        ASSERT_LE(out.size(), 10u);
        ASSERT_TRUE(Sorted(out));
        for (const Neighbor& n : out) {
          ASSERT_LT(n.id, kN);
          ASSERT_NE(n.id % 5, 0u);
        }
        (void)index->size();
        searches.fetch_add(1);
      }
    });
  }
  base::Rng rng(12);
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_OK(index->Upsert(static_cast<uint32_t>(i), Row(rows, kDim, i)));
    if (i % 3 == 0) {
      const auto victim = static_cast<uint32_t>(rng.Uniform(i + 1));
      index->Remove(victim);
      ASSERT_OK(index->Upsert(victim, Row(rows, kDim, (victim + 1) % kN)));
    }
  }
  while (searches.load() < 100) {
    std::this_thread::yield();
  }
  done = true;
  for (std::thread& t : readers) {
    t.join();
  }
  EXPECT_EQ(index->size(), kN);
}

INSTANTIATE_TEST_SUITE_P(Kinds, AnnIndexTest, ::testing::Values("flat", "hnsw"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

TEST(HnswIndexTest, RecallAtDefaultsOnClusteredVectorsWithVariedNorms) {
  constexpr uint32_t kDim = 32;
  constexpr size_t kN = 20000;
  const std::vector<float> rows = ClusteredVectors({.n = kN, .dim = kDim, .seed = 21});
  const std::vector<float> queries = ClusteredVectors({.n = 200, .dim = kDim, .seed = 22});
  const auto flat = Make("flat", kDim);
  const auto hnsw = Make("hnsw", kDim);
  Fill(flat.get(), rows);
  Fill(hnsw.get(), rows);
  Result<double> recall = RecallAtK(*hnsw, *flat, queries, 10);
  ASSERT_OK(recall);
  std::cout << "recall@10 = " << *recall << "\n";
  EXPECT_GE(*recall, 0.95);
  // With 10 % of ids removed and a filter passing half, still close to the exact answer.
  for (uint32_t id = 0; id < kN; id += 10) {
    ASSERT_TRUE(flat->Remove(id));
    ASSERT_TRUE(hnsw->Remove(id));
  }
  recall = RecallAtK(*hnsw, *flat, queries, 10, [](uint32_t id) { return id % 2 == 1; });
  ASSERT_OK(recall);
  std::cout << "recall@10 filtered = " << *recall << "\n";
  EXPECT_GE(*recall, 0.95);
}

TEST(HnswIndexTest, SameSeedAndCallsGiveSameResults) {
  constexpr uint32_t kDim = 16;
  const std::vector<float> rows = ClusteredVectors({.n = 3000, .dim = kDim, .seed = 31});
  const std::vector<float> queries = ClusteredVectors({.n = 50, .dim = kDim, .seed = 32});
  AnnParams params;
  params.seed = 5;
  params.ef_search = 10;  // low, so that differences in the graph would show
  const auto a = Make("hnsw", kDim, params);
  const auto b = Make("hnsw", kDim, params);
  for (AnnIndex* index : {a.get(), b.get()}) {
    Fill(index, rows);
    for (uint32_t id = 0; id < 3000; id += 13) {
      index->Remove(id);
    }
    ASSERT_OK(index->Upsert(5, Row(rows, kDim, 6)));
  }
  for (size_t q = 0; q < 50; ++q) {
    EXPECT_EQ(SearchOrDie(*a, Row(queries, kDim, q), 10),
              SearchOrDie(*b, Row(queries, kDim, q), 10));
  }
}

TEST(HnswIndexTest, GrowsCapacityAndScoresLikeFlat) {
  constexpr uint32_t kDim = 16;
  const std::vector<float> rows = ClusteredVectors({.n = 1000, .dim = kDim, .seed = 41});
  AnnParams params;
  params.initial_capacity = 8;
  Result<std::unique_ptr<HnswIndex>> hnsw = HnswIndex::Create(kDim, params);
  ASSERT_OK(hnsw);
  FlatIndex flat(kDim);
  Fill(hnsw->get(), rows);
  Fill(&flat, rows);
  EXPECT_EQ((*hnsw)->nodes(), 1000u);
  EXPECT_GE((*hnsw)->capacity(), 1000u);
  EXPECT_THAT((*hnsw)->SetEfSearch(0), StatusIs(StatusCode::kInvalidArgument));
  ASSERT_OK((*hnsw)->SetEfSearch(400));  // wide beam on 1000 items: the exact answer
  EXPECT_EQ(Ids(SearchOrDie(**hnsw, Row(rows, kDim, 3), 10)),
            Ids(SearchOrDie(flat, Row(rows, kDim, 3), 10)));
  // Ids found by both carry bit-identical scores.
  const std::vector<Neighbor> exact = SearchOrDie(flat, Row(rows, kDim, 0), 10);
  for (const Neighbor& n : SearchOrDie(**hnsw, Row(rows, kDim, 0), 10)) {
    const auto it =
        std::find_if(exact.begin(), exact.end(), [&](const Neighbor& e) { return e.id == n.id; });
    if (it != exact.end()) {
      EXPECT_EQ(it->score, n.score);
    }
  }
}

TEST(MakeAnnIndexTest, RejectsBadKindsAndParameters) {
  EXPECT_THAT(MakeAnnIndex("ivf", 8), StatusIs(StatusCode::kInvalidArgument, HasSubstr("ivf")));
  EXPECT_THAT(MakeAnnIndex("flat", 0), StatusIs(StatusCode::kInvalidArgument));
  AnnParams params;
  params.m = 1;
  EXPECT_THAT(MakeAnnIndex("hnsw", 8, params), StatusIs(StatusCode::kInvalidArgument));
  params = {};
  params.ef_search = 0;
  EXPECT_THAT(MakeAnnIndex("hnsw", 8, params), StatusIs(StatusCode::kInvalidArgument));
  params = {};
  params.initial_capacity = 0;
  EXPECT_THAT(MakeAnnIndex("hnsw", 8, params), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_OK(MakeAnnIndex("hnsw", 8));
}

}  // namespace
}  // namespace flywheel::ann
