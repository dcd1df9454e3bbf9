#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "embedding/embedding_table.h"
#include "testing/status_matchers.h"

namespace flywheel::embedding {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::unique_ptr<EmbeddingTable> Filled(OptimizerKind kind, uint64_t rows, uint32_t admission) {
  EmbeddingTableOptions o;
  o.dim = 3;
  o.optimizer.kind = kind;
  o.admission_count = admission;
  o.sketch_width = 8;
  o.sketch_depth = 2;
  o.ttl_ms = 1000;
  auto table = std::move(EmbeddingTable::Create(o)).value();
  const std::vector<float> grad = {0.5f, -1.0f, 2.0f};
  for (uint64_t id = 0; id < rows; ++id) {
    for (uint32_t k = 0; k < admission; ++k) {
      table->ApplyGradient(id * 7919, grad, 0.1f, static_cast<TimestampMs>(id));
    }
  }
  return table;
}

void ExpectSameRows(const EmbeddingTable& a, const EmbeddingTable& b, uint64_t rows) {
  ASSERT_EQ(a.size(), b.size());
  std::vector<float> x(a.dim()), y(b.dim());
  for (uint64_t id = 0; id < rows; ++id) {
    ASSERT_TRUE(a.Lookup(id * 7919, x));
    ASSERT_TRUE(b.Lookup(id * 7919, y));
    ASSERT_EQ(0, std::memcmp(x.data(), y.data(), x.size() * sizeof(float)));
  }
}

TEST(SnapshotTest, RoundTripIsBitIdenticalForEveryOptimizer) {
  TempDir dir;
  for (OptimizerKind kind :
       {OptimizerKind::kSgd, OptimizerKind::kAdagrad, OptimizerKind::kAdam, OptimizerKind::kFtrl}) {
    // 600 rows span three row blocks (256 per block), the last one partial.
    auto table = Filled(kind, 600, 2);
    const std::string path = dir.path() + "/t.emb";
    ASSERT_OK(table->SaveSnapshot(path));
    auto loaded = EmbeddingTable::LoadSnapshot(path);
    ASSERT_OK(loaded);
    ExpectSameRows(*table, **loaded, 600);
    // Optimizer state and admission counts came back too: further updates agree.
    const std::vector<float> grad = {1.0f, 1.0f, 1.0f};
    for (uint64_t id : {uint64_t{7919}, uint64_t{123456}}) {
      EXPECT_EQ(table->ApplyGradient(id, grad, 0.1f, 5),
                (*loaded)->ApplyGradient(id, grad, 0.1f, 5));
    }
    ExpectSameRows(*table, **loaded, 600);
    EXPECT_EQ((*loaded)->EvictExpired(1200), table->EvictExpired(1200));
  }
}

TEST(SnapshotTest, EmptyTableRoundTrips) {
  TempDir dir;
  auto table = Filled(OptimizerKind::kSgd, 0, 1);
  ASSERT_OK(table->SaveSnapshot(dir.path() + "/e.emb"));
  auto loaded = EmbeddingTable::LoadSnapshot(dir.path() + "/e.emb");
  ASSERT_OK(loaded);
  EXPECT_EQ((*loaded)->size(), 0u);
}

TEST(SnapshotTest, MissingFileIsIoError) {
  EXPECT_THAT(EmbeddingTable::LoadSnapshot("/nonexistent/x.emb"), StatusIs(StatusCode::kIoError));
}

// Every byte is under a CRC, so every single-byte flip must be rejected.
TEST(SnapshotTest, EveryFlippedByteIsRejected) {
  TempDir dir;
  auto table = Filled(OptimizerKind::kAdam, 3, 2);
  const std::string path = dir.path() + "/t.emb";
  ASSERT_OK(table->SaveSnapshot(path));
  const std::string good = ReadAll(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    const std::string bad_path = dir.WriteFile("bad.emb", bad);
    EXPECT_THAT(EmbeddingTable::LoadSnapshot(bad_path), StatusIs(StatusCode::kCorruption))
        << "byte " << i;
  }
}

TEST(SnapshotTest, EveryTruncationAndTrailingByteIsRejected) {
  TempDir dir;
  auto table = Filled(OptimizerKind::kFtrl, 3, 2);
  const std::string path = dir.path() + "/t.emb";
  ASSERT_OK(table->SaveSnapshot(path));
  const std::string good = ReadAll(path);
  for (size_t len = 0; len < good.size(); ++len) {
    const std::string bad_path = dir.WriteFile("short.emb", good.substr(0, len));
    EXPECT_THAT(EmbeddingTable::LoadSnapshot(bad_path),
                StatusIs(StatusCode::kCorruption, ::testing::HasSubstr("offset")))
        << "length " << len;
  }
  const std::string long_path = dir.WriteFile("long.emb", good + "x");
  EXPECT_THAT(EmbeddingTable::LoadSnapshot(long_path), StatusIs(StatusCode::kCorruption));
}

TEST(SnapshotTest, SaveLeavesNoTempFile) {
  TempDir dir;
  auto table = Filled(OptimizerKind::kSgd, 2, 1);
  ASSERT_OK(table->SaveSnapshot(dir.path() + "/t.emb"));
  EXPECT_EQ(std::fopen((dir.path() + "/t.emb.tmp").c_str(), "rb"), nullptr);
}

}  // namespace
}  // namespace flywheel::embedding

namespace flywheel::embedding {
namespace {

TEST(SnapshotBytesTest, InMemoryRoundTripMatchesTheFileFormat) {
  testing::TempDir dir;
  auto table = Filled(OptimizerKind::kAdam, 300, 1);
  std::string bytes = "prefix";
  ASSERT_OK(table->AppendSnapshot(&bytes));
  const std::string path = dir.path() + "/t.emb";
  ASSERT_OK(table->SaveSnapshot(path));
  EXPECT_EQ(bytes.substr(6), ReadAll(path));
  auto restored = EmbeddingTable::LoadSnapshotBytes(std::string_view(bytes).substr(6), "mem");
  ASSERT_OK(restored.status());
  ExpectSameRows(*table, **restored, 300);
  EXPECT_THAT(EmbeddingTable::LoadSnapshotBytes("", "mem").status(),
              testing::StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(
      EmbeddingTable::LoadSnapshotBytes(std::string_view(bytes).substr(6, 100), "mem").status(),
      testing::StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace flywheel::embedding
