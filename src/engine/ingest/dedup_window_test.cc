#include "engine/ingest/dedup_window.h"

#include <deque>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

// Against a reference model (a FIFO of the last `capacity` distinct ids) under random adds of
// new and repeated ids: every answer must match, across many evictions and index growth.
TEST(DedupWindowTest, MatchesAReferenceFifo) {
  for (size_t capacity : {1u, 7u, 64u, 1000u}) {
    DedupWindow window(capacity);
    std::deque<std::string> fifo;
    std::set<std::string> in_fifo;
    base::Rng rng(capacity);
    uint64_t seq = 0;
    for (int step = 0; step < 20000; ++step) {
      const std::string id = "id" + std::to_string(rng.Uniform(3 * capacity + 10));
      ASSERT_EQ(window.Contains(id), in_fifo.count(id) == 1) << "capacity " << capacity;
      window.Add(id, ++seq);
      if (in_fifo.insert(id).second) {
        fifo.push_back(id);
        if (fifo.size() > capacity) {
          in_fifo.erase(fifo.front());
          fifo.pop_front();
        }
      }
    }
    for (const std::string& id : fifo) {
      EXPECT_TRUE(window.Contains(id));
    }
  }
}

TEST(DedupWindowTest, SaveKeepsOnlyIdsUpToTheSnapshotAndRoundTrips) {
  DedupWindow window(5);
  for (uint64_t i = 1; i <= 8; ++i) {
    window.Add("e" + std::to_string(i), i);
  }
  std::string bytes;
  base::ByteWriter w(&bytes);
  window.Save(/*max_seq=*/7, &w);
  DedupWindow loaded(5);
  base::ByteReader r(bytes, "dedup");
  ASSERT_OK(loaded.Load(&r));
  EXPECT_OK(r.ExpectEnd());
  for (uint64_t i = 1; i <= 8; ++i) {
    EXPECT_EQ(loaded.Contains("e" + std::to_string(i)), i >= 4 && i <= 7) << i;
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    DedupWindow broken(5);
    base::ByteReader partial(std::string_view(bytes).substr(0, cut), "dedup");
    EXPECT_FALSE(broken.Load(&partial).ok()) << cut;
  }
}

TEST(DedupWindowTest, ZeroCapacityRemembersNothing) {
  DedupWindow window(0);
  window.Add("a", 1);
  EXPECT_FALSE(window.Contains("a"));
}

}  // namespace
}  // namespace flywheel::engine
