// CSV lines (data/csv.h SplitCsvLine, used by every CSV reader) and dataset specs
// (data/dataset.h ParseDatasetSpec): the first byte picks the separator. Never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/csv.h"
#include "data/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr char kSeparators[] = {',', '\t', ';', '|', ':'};
  const char sep = kSeparators[data[0] % sizeof(kSeparators)];
  const std::string_view text = flywheel::fuzz::AsText(data + 1, size - 1);
  std::vector<std::string> fields;
  if (flywheel::data::SplitCsvLine(text, sep, &fields).ok()) {
    size_t bytes = 0;
    for (const std::string& field : fields) {
      bytes += field.size();
    }
    FUZZ_CHECK(bytes <= text.size(), "fields longer than the line");
  }
  (void)flywheel::data::ParseDatasetSpec(text);
  return 0;
}
