// Embedding table snapshots (embedding/embedding_table.h LoadSnapshotBytes, the state of the
// models built on EmbeddingTable). Never a crash; a table that loads re-saves (AppendSnapshot)
// to bytes that load again.
#include <cstddef>
#include <cstdint>
#include <string>

#include "embedding/embedding_table.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto table = flywheel::embedding::EmbeddingTable::LoadSnapshotBytes(
      flywheel::fuzz::AsText(data, size), "fuzz");
  if (!table.ok()) {
    return 0;
  }
  std::string saved;
  FUZZ_CHECK((*table)->AppendSnapshot(&saved).ok(), "a loaded table does not save");
  const auto again = flywheel::embedding::EmbeddingTable::LoadSnapshotBytes(saved, "fuzz saved");
  FUZZ_CHECK(again.ok(), "the saved table does not load: " + again.status().ToString());
  return 0;
}
