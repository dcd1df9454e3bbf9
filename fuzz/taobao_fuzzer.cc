// The Taobao UserBehavior.csv reader (data/taobao_reader.cc): the first byte picks the skip
// policy, the rest is the file. Never a crash.
#include <cstddef>
#include <cstdint>

#include "data/dataset.h"
#include "fuzz_util.h"
#include "reader_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const flywheel::data::SkipPolicy skip = flywheel::fuzz::SkipFromByte(data[0]);
  const std::string dir = flywheel::fuzz::FreshDir();
  const std::string path = flywheel::fuzz::WriteFile(dir, "UserBehavior.csv",
                                                     flywheel::fuzz::AsText(data + 1, size - 1));
  flywheel::fuzz::Drain(flywheel::data::OpenTaobao(path, skip), skip);
  return 0;
}
