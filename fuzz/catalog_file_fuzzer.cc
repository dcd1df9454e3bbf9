// Catalogue files (flywheel import-items; data/item_batch.h ReadCatalogFile): the first byte
// picks CSV or JSON Lines, the rest is the file. Never a crash; bad lines are reported, at most
// kMaxReportedErrors + 1 of them.
#include <cstddef>
#include <cstdint>

#include "data/item_batch.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool csv = (data[0] & 1) == 0;
  const std::string dir = flywheel::fuzz::FreshDir();
  const std::string path = flywheel::fuzz::WriteFile(dir, csv ? "items.csv" : "items.jsonl",
                                                     flywheel::fuzz::AsText(data + 1, size - 1));
  const auto file = flywheel::data::ReadCatalogFile(path);
  if (file.ok()) {
    FUZZ_CHECK(file->errors.size() <= flywheel::data::kMaxReportedErrors + 1, "too many errors");
  }
  return 0;
}
