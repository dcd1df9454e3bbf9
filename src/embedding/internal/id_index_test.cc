#include "embedding/internal/id_index.h"

#include <set>
#include <unordered_map>

#include <gtest/gtest.h>

#include "base/random.h"
#include "embedding/internal/count_min_sketch.h"
#include "embedding/internal/slab_store.h"

namespace flywheel::embedding::internal {
namespace {

// Random inserts and erases (backward-shift deletion, growth) against std::unordered_map.
TEST(IdIndexTest, MatchesReferenceMap) {
  IdIndex index;
  std::unordered_map<uint64_t, uint32_t> reference;
  base::Rng rng(3);
  for (uint32_t step = 0; step < 20000; ++step) {
    const uint64_t id = rng.Uniform(3000) * 0x9E3779B97F4A7C15ull;  // spread, some collide
    if (reference.count(id) != 0) {
      EXPECT_TRUE(index.Erase(id));
      reference.erase(id);
    } else {
      index.Insert(id, step);
      reference[id] = step;
    }
    if (step % 1000 == 0) {
      for (const auto& [key, slot] : reference) {
        ASSERT_EQ(index.Find(key), slot);
      }
    }
  }
  EXPECT_EQ(index.size(), reference.size());
  EXPECT_FALSE(index.Erase(12345));
  EXPECT_EQ(index.Find(12345), IdIndex::kNoSlot);
  EXPECT_LE(2 * index.size(), index.capacity());
}

TEST(SlabStoreTest, SlotsAcrossSlabsAreDistinctAndStable) {
  SlabStore store(3);
  std::set<float*> rows;
  for (size_t slot = 0; slot < 5000; ++slot) {
    store.EnsureSlot(slot);
    float* row = store.Row(slot);
    row[0] = static_cast<float>(slot);
    rows.insert(row);
  }
  EXPECT_EQ(rows.size(), 5000u);
  for (size_t slot = 0; slot < 5000; ++slot) {
    ASSERT_EQ(store.Row(slot)[0], static_cast<float>(slot));
  }
  EXPECT_EQ(store.capacity(), 1024u + 2048u + 4096u);  // slabs double
}

TEST(CountMinSketchTest, NeverUnderCounts) {
  CountMinSketch sketch(64, 4);
  std::unordered_map<uint64_t, uint32_t> truth;
  base::Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t id = rng.Uniform(300);
    EXPECT_GE(sketch.Add(id), ++truth[id]);
  }
  for (const auto& [id, count] : truth) {
    EXPECT_GE(sketch.Estimate(id), count);
  }
}

}  // namespace
}  // namespace flywheel::embedding::internal
