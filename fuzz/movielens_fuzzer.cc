// MovieLens readers (data/movielens_reader.cc): the first byte picks the layout (ml-100k,
// ml-1m, ml-latest-small, dslabs, a sniffed single file) and the skip policy; the rest is split
// at kPartSeparator into the ratings file and its metadata files. Never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fuzz_util.h"
#include "reader_util.h"

namespace {

struct Layout {
  std::vector<const char*> files;  // the ratings file first
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const Layout kLayouts[] = {
      {{"u.data", "u.item", "u.genre"}},
      {{"ratings.dat", "movies.dat"}},
      {{"ratings.csv", "movies.csv", "tags.csv"}},
      {{"movielens.csv"}},
      {{"ratings.txt"}},
  };
  const Layout& layout = kLayouts[(data[0] & 0x0f) % std::size(kLayouts)];
  const flywheel::data::SkipPolicy skip = flywheel::fuzz::SkipFromByte(data[0]);
  const auto parts =
      flywheel::fuzz::SplitParts(flywheel::fuzz::AsText(data + 1, size - 1), layout.files.size());
  const std::string dir = flywheel::fuzz::FreshDir();
  for (size_t i = 0; i < parts.size(); ++i) {
    flywheel::fuzz::WriteFile(dir, layout.files[i], parts[i]);
  }
  // A directory for the named layouts (the reader finds the files), the file for the sniffed one.
  const std::string path = layout.files.size() == 1 && std::string(layout.files[0]) == "ratings.txt"
                               ? dir + "/ratings.txt"
                               : dir;
  flywheel::fuzz::Drain(flywheel::data::OpenMovieLens(path, skip), skip);
  return 0;
}
