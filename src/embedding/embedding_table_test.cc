#include "embedding/embedding_table.h"

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::embedding {
namespace {

using ::flywheel::testing::StatusIs;

EmbeddingTableOptions Small(OptimizerKind kind = OptimizerKind::kAdagrad) {
  EmbeddingTableOptions o;
  o.dim = 4;
  o.optimizer.kind = kind;
  o.init_std = 0.1f;
  o.seed = 42;
  return o;
}

std::unique_ptr<EmbeddingTable> Make(const EmbeddingTableOptions& o) {
  auto table = EmbeddingTable::Create(o);
  EXPECT_OK(table);
  return std::move(table).value();
}

std::vector<float> Row(const EmbeddingTable& table, uint64_t id) {
  std::vector<float> out(table.dim());
  table.Lookup(id, out);
  return out;
}

const std::vector<float> kGrad = {0.1f, -0.2f, 0.3f, -0.4f};

TEST(EmbeddingTableTest, RejectsBadOptions) {
  EmbeddingTableOptions o = Small();
  o.dim = 0;
  EXPECT_THAT(EmbeddingTable::Create(o), StatusIs(StatusCode::kInvalidArgument));
}

TEST(EmbeddingTableTest, InitIsDeterministicAndOrderIndependent) {
  auto a = Make(Small());
  auto b = Make(Small());
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(a->ApplyGradient(id, kGrad, 0.0f, 0), UpdateOutcome::kApplied);
  }
  for (uint64_t id : {3, 1, 2}) {
    EXPECT_EQ(b->ApplyGradient(id, kGrad, 0.0f, 0), UpdateOutcome::kApplied);
  }
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(Row(*a, id), Row(*b, id));
  }
  EXPECT_NE(Row(*a, 1), Row(*a, 2));
  EXPECT_NE(Row(*a, 1), std::vector<float>(4, 0.0f));
}

TEST(EmbeddingTableTest, LookupMissingGivesFallbackOrZeros) {
  auto table = Make(Small());
  std::vector<float> out(4, 7.0f);
  EXPECT_FALSE(table->Lookup(9, out));
  EXPECT_EQ(out, std::vector<float>(4, 0.0f));
  const std::vector<float> content = {1, 2, 3, 4};
  EXPECT_FALSE(table->Lookup(9, out, content));
  EXPECT_EQ(out, content);
}

TEST(EmbeddingTableTest, LookupBatchEqualsSingleLookups) {
  auto table = Make(Small());
  std::vector<uint64_t> ids;
  for (uint64_t id = 0; id < 40; ++id) {
    if (id % 3 != 0) {
      table->ApplyGradient(id, kGrad, 0.1f, 0);
    }
    ids.push_back(39 - id);
  }
  const std::vector<float> content = {1, 2, 3, 4};
  std::vector<float> out(ids.size() * 4);
  EXPECT_EQ(table->LookupBatch(ids, out, content), 26u);
  for (size_t i = 0; i < ids.size(); ++i) {
    std::vector<float> single(4);
    table->Lookup(ids[i], single, content);
    EXPECT_EQ(std::vector<float>(out.begin() + 4 * i, out.begin() + 4 * i + 4), single);
  }
}

TEST(EmbeddingTableTest, AdmissionAfterNOccurrences) {
  EmbeddingTableOptions o = Small(OptimizerKind::kSgd);
  o.admission_count = 3;
  auto table = Make(o);
  const std::vector<float> content = {1, 2, 3, 4};
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(table->ApplyGradient(5, kGrad, 1.0f, i), UpdateOutcome::kPending);
  }
  std::vector<float> out(4);
  EXPECT_FALSE(table->Lookup(5, out, content));
  EXPECT_EQ(out, content);
  EXPECT_EQ(table->pending_updates(), 2u);
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(table->ApplyGradient(5, kGrad, 0.0f, 2), UpdateOutcome::kApplied);
  EXPECT_TRUE(table->Contains(5));
  EXPECT_FALSE(table->Contains(6));
}

TEST(EmbeddingTableTest, TtlEvictsAndReusesSlots) {
  EmbeddingTableOptions o = Small(OptimizerKind::kSgd);
  o.ttl_ms = 100;
  auto table = Make(o);
  for (uint64_t id = 0; id < 10; ++id) {
    table->ApplyGradient(id, kGrad, 0.1f, id < 5 ? 0 : 50);
  }
  const std::vector<float> kept = Row(*table, 7);
  EXPECT_EQ(table->EvictExpired(100), 0u);  // exactly ttl old: kept
  EXPECT_EQ(table->EvictExpired(101), 5u);
  const size_t bytes = table->memory_bytes();
  EXPECT_EQ(table->size(), 5u);
  for (uint64_t id = 0; id < 5; ++id) {
    EXPECT_FALSE(table->Contains(id));
  }
  // New ids reuse the freed slots: no growth, no collisions with surviving rows.
  for (uint64_t id = 100; id < 105; ++id) {
    table->ApplyGradient(id, kGrad, 0.0f, 120);
  }
  EXPECT_EQ(table->memory_bytes(), bytes);
  EXPECT_EQ(Row(*table, 7), kept);
  auto fresh = Make(o);
  for (uint64_t id = 100; id < 105; ++id) {
    fresh->ApplyGradient(id, kGrad, 0.0f, 0);
    EXPECT_EQ(Row(*table, id), Row(*fresh, id)) << id;
  }
  EXPECT_EQ(table->evicted(), 5u);
}

TEST(EmbeddingTableTest, RemoveForgetsARowAndAFreshOneStartsOver) {
  auto table = Make(Small(OptimizerKind::kAdagrad));
  auto fresh = Make(Small(OptimizerKind::kAdagrad));
  for (int step = 0; step < 3; ++step) {
    table->ApplyGradient(1, kGrad, 0.1f, 0);
    table->ApplyGradient(2, kGrad, 0.1f, 0);
  }
  const std::vector<float> kept = Row(*table, 2);
  EXPECT_TRUE(table->Remove(1));
  EXPECT_FALSE(table->Remove(1));
  EXPECT_FALSE(table->Contains(1));
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(Row(*table, 2), kept);
  // The next update of id 1 starts from a new row with fresh optimizer state.
  table->ApplyGradient(1, kGrad, 0.1f, 5);
  fresh->ApplyGradient(1, kGrad, 0.1f, 5);
  EXPECT_EQ(Row(*table, 1), Row(*fresh, 1));
}

TEST(EmbeddingTableTest, BudgetRefusesNewIdsWhenFull) {
  EmbeddingTableOptions o = Small(OptimizerKind::kSgd);
  o.max_rows = 3;
  o.ttl_ms = 10;
  auto table = Make(o);
  for (uint64_t id = 0; id < 3; ++id) {
    EXPECT_EQ(table->ApplyGradient(id, kGrad, 0.1f, 0), UpdateOutcome::kApplied);
  }
  EXPECT_EQ(table->ApplyGradient(3, kGrad, 0.1f, 0), UpdateOutcome::kRefusedFull);
  EXPECT_EQ(table->ApplyGradient(0, kGrad, 0.1f, 20), UpdateOutcome::kApplied);  // existing
  EXPECT_EQ(table->refused_full(), 1u);
  EXPECT_EQ(table->size(), 3u);
  EXPECT_EQ(table->EvictExpired(20), 2u);  // ids 1, 2 idle
  EXPECT_EQ(table->ApplyGradient(3, kGrad, 0.1f, 20), UpdateOutcome::kApplied);
  EXPECT_GE(table->bytes_per_row(), 4 * sizeof(float) + 16);
}

TEST(EmbeddingTableTest, BytesPerRowCountsState) {
  EXPECT_EQ(Make(Small(OptimizerKind::kAdam))->bytes_per_row() -
                Make(Small(OptimizerKind::kSgd))->bytes_per_row(),
            9 * sizeof(float));
}

TEST(EmbeddingTableTest, NonFiniteUpdateNeverReachesRow) {
  auto table = Make(Small());
  table->ApplyGradient(1, kGrad, 0.1f, 0);
  const std::vector<float> before = Row(*table, 1);
  const std::vector<float> bad = {0.0f, NAN, 0.0f, 0.0f};
  EXPECT_EQ(table->ApplyGradient(1, bad, 0.1f, 1), UpdateOutcome::kSkippedNonFinite);
  EXPECT_EQ(Row(*table, 1), before);
  EXPECT_EQ(table->skipped_non_finite(), 1u);
}

TEST(EmbeddingTableTest, BatchEqualsSingleUpdates) {
  auto a = Make(Small(OptimizerKind::kAdam));
  auto b = Make(Small(OptimizerKind::kAdam));
  const std::vector<uint64_t> ids = {4, 8, 4};
  std::vector<float> grads;
  for (int i = 0; i < 3; ++i) {
    grads.insert(grads.end(), kGrad.begin(), kGrad.end());
  }
  a->ApplyGradients(ids, grads, 0.1f, 0);
  for (uint64_t id : ids) {
    b->ApplyGradient(id, kGrad, 0.1f, 0);
  }
  EXPECT_EQ(Row(*a, 4), Row(*b, 4));
  EXPECT_EQ(Row(*a, 8), Row(*b, 8));
}

TEST(EmbeddingTableTest, BatchReturnsUpdatedRowsLikeLookupBatch) {
  EmbeddingTableOptions o = Small(OptimizerKind::kAdagrad);
  o.admission_count = 2;  // id 7 stays pending: its updated row reads as zeros
  auto table = Make(o);
  table->ApplyGradient(4, kGrad, 0.1f, 0);
  table->ApplyGradient(8, kGrad, 0.1f, 0);
  const std::vector<uint64_t> ids = {4, 8, 4, 7};
  std::vector<float> grads;
  for (size_t i = 0; i < ids.size(); ++i) {
    grads.insert(grads.end(), kGrad.begin(), kGrad.end());
  }
  std::vector<float> updated(grads.size(), -1.0f);
  table->ApplyGradients(ids, grads, 0.1f, 1, updated);
  std::vector<float> looked_up(grads.size());
  table->LookupBatch(ids, looked_up);
  EXPECT_EQ(updated, looked_up);
  EXPECT_EQ(std::vector<float>(updated.end() - 4, updated.end()), std::vector<float>(4, 0.0f));
}

// One writer sets every component of a row to the same value; readers must never see a row
// whose components differ (a torn row).
TEST(EmbeddingTableConcurrencyTest, ReadersNeverSeeTornRows) {
  EmbeddingTableOptions o = Small(OptimizerKind::kSgd);
  o.dim = 16;
  o.init_std = 0.0f;
  auto table = Make(o);
  constexpr int kIds = 8;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  auto reader = [&] {
    std::vector<float> out(16);
    while (!done.load()) {
      for (uint64_t id = 0; id < kIds; ++id) {
        table->Lookup(id, out);
        for (float v : out) {
          torn += v != out[0];
        }
      }
    }
  };
  std::thread r1(reader), r2(reader);
  std::vector<float> grad(16);
  for (int step = 0; step < 3000; ++step) {
    const uint64_t id = static_cast<uint64_t>(step % kIds);
    std::fill(grad.begin(), grad.end(), Row(*table, id)[0] - static_cast<float>(step));
    table->ApplyGradient(id, grad, 1.0f, step);  // row := step in every component
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(Row(*table, 2999 % kIds), std::vector<float>(16, 2999.0f));
}

}  // namespace
}  // namespace flywheel::embedding
