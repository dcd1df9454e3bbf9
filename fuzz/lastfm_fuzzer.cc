// The Last.fm HetRec reader (data/lastfm_reader.cc): the first byte picks the skip policy; the
// rest is user_artists.dat and, after kPartSeparator, artists.dat. Never a crash.
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
  const auto parts = flywheel::fuzz::SplitParts(flywheel::fuzz::AsText(data + 1, size - 1), 2);
  const std::string dir = flywheel::fuzz::FreshDir();
  flywheel::fuzz::WriteFile(dir, "user_artists.dat", parts[0]);
  if (parts.size() > 1) {
    flywheel::fuzz::WriteFile(dir, "artists.dat", parts[1]);
  }
  flywheel::fuzz::Drain(flywheel::data::OpenLastfm(dir, skip), skip);
  return 0;
}
