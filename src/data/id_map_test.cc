#include "data/id_map.h"

#include <string>
#include <unordered_map>

#include <gtest/gtest.h>

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;

TEST(IdMapTest, MatchesAReferenceMapThroughGrowth) {
  IdMap map;
  std::unordered_map<std::string, uint32_t> reference;
  base::Rng rng(1);
  for (int step = 0; step < 50000; ++step) {
    const std::string id = "id-" + std::to_string(rng.Uniform(20000));
    auto found = map.Find(id);
    auto it = reference.find(id);
    ASSERT_EQ(found.has_value(), it != reference.end()) << id;
    if (found) {
      ASSERT_EQ(*found, it->second);
    }
    const uint32_t index = map.GetOrAdd(id);
    if (it == reference.end()) {
      ASSERT_EQ(index, reference.size()) << "indices are dense in insertion order";
      reference.emplace(id, index);
    } else {
      ASSERT_EQ(index, it->second);
    }
    ASSERT_EQ(map.external(index), id);
  }
  EXPECT_EQ(map.size(), reference.size());
  EXPECT_FALSE(map.Find("never").has_value());
  EXPECT_FALSE(IdMap().Find("x").has_value());
}

TEST(IdMapTest, EmptyAndBinaryIdsAreDistinct) {
  IdMap map;
  EXPECT_EQ(map.GetOrAdd(""), 0u);
  EXPECT_EQ(map.GetOrAdd(std::string("a\0b", 3)), 1u);
  EXPECT_EQ(map.GetOrAdd("a"), 2u);
  EXPECT_EQ(*map.Find(std::string("a\0b", 3)), 1u);
}

TEST(IdMapTest, SaveLoadRoundTripAndRejectsDamage) {
  IdMap map;
  for (int i = 0; i < 100; ++i) {
    map.GetOrAdd("u" + std::to_string(i * 13));
  }
  std::string bytes;
  base::ByteWriter w(&bytes);
  map.Save(&w);
  IdMap loaded;
  base::ByteReader r(bytes, "ids");
  ASSERT_OK(loaded.Load(&r));
  EXPECT_OK(r.ExpectEnd());
  ASSERT_EQ(loaded.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_EQ(loaded.external(i), map.external(i));
    EXPECT_EQ(*loaded.Find(map.external(i)), i);
  }
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    IdMap broken;
    base::ByteReader partial(std::string_view(bytes).substr(0, cut), "ids");
    EXPECT_THAT(broken.Load(&partial), StatusIs(StatusCode::kCorruption)) << cut;
  }
  std::string repeated;
  base::ByteWriter rw(&repeated);
  rw.Put<uint64_t>(2);
  rw.PutString("same");
  rw.PutString("same");
  rw.Put<uint64_t>(0);
  base::ByteReader rr(repeated, "ids");
  EXPECT_THAT(IdMap().Load(&rr), StatusIs(StatusCode::kCorruption));
}

TEST(IdMapTest, ForgetMatchesAReferenceAndSurvivesSaveLoad) {
  IdMap map;
  std::unordered_map<std::string, uint32_t> reference;
  base::Rng rng(7);
  uint32_t next = 0;
  for (int step = 0; step < 30000; ++step) {
    const std::string id = "id-" + std::to_string(rng.Uniform(3000));
    if (rng.Uniform(4) == 0) {
      auto it = reference.find(id);
      if (it != reference.end()) {
        map.Forget(it->second);
        map.Forget(it->second);  // idempotent
        ASSERT_TRUE(map.forgotten(it->second));
        ASSERT_EQ(map.external(it->second), "");
        reference.erase(it);
      }
      ASSERT_FALSE(map.Find(id).has_value());
      continue;
    }
    const uint32_t index = map.GetOrAdd(id);
    auto [it, added] = reference.emplace(id, index);
    if (added) {
      ASSERT_EQ(index, next++) << "a forgotten id comes back with a new index";
    } else {
      ASSERT_EQ(index, it->second);
    }
  }
  for (const auto& [id, index] : reference) {
    ASSERT_EQ(*map.Find(id), index) << id;
  }
  std::string bytes;
  base::ByteWriter w(&bytes);
  map.Save(&w);
  IdMap loaded;
  base::ByteReader r(bytes, "ids");
  ASSERT_OK(loaded.Load(&r));
  ASSERT_EQ(loaded.size(), map.size());
  size_t forgotten = 0;
  for (uint32_t i = 0; i < map.size(); ++i) {
    ASSERT_EQ(loaded.forgotten(i), map.forgotten(i)) << i;
    ASSERT_EQ(loaded.external(i), map.external(i));
    forgotten += map.forgotten(i) ? 1 : 0;
  }
  EXPECT_GT(forgotten, 100u);
  for (const auto& [id, index] : reference) {
    ASSERT_EQ(*loaded.Find(id), index) << id;
  }
  // The empty id stays a legal id, distinct from forgotten entries.
  EXPECT_EQ(loaded.GetOrAdd(""), map.size());
  EXPECT_FALSE(loaded.forgotten(static_cast<uint32_t>(map.size())));
}

}  // namespace
}  // namespace flywheel::data
