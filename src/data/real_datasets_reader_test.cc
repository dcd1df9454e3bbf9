// Reads the real datasets of ../shared/datasets (relative to the repo root, the tests' working
// directory) and checks the counts of their PROVENANCE.md files. Skipped when the data is absent:
// the datasets' licences forbid copying them into the repository.
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/dataset.h"
#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using Opener = std::function<Result<std::unique_ptr<EventReader>>(const std::string&)>;

struct Expected {
  int64_t events;
  size_t users;
  size_t items_with_events;
  size_t items_with_metadata;
};

void CheckDataset(const std::string& name, const Opener& open, const Expected& expected) {
  const std::string path = "../shared/datasets/" + name;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    GTEST_SKIP() << path << " not present";
  }
  Result<std::unique_ptr<EventReader>> reader = open(path);
  ASSERT_OK(reader);
  std::unordered_set<std::string> users;
  std::unordered_set<std::string> items;
  Event event;
  while (true) {
    Result<bool> got = (*reader)->Next(&event);
    ASSERT_OK(got);
    if (!*got) {
      break;
    }
    users.insert(event.user);
    items.insert(event.item);
  }
  const ReadStats& stats = (*reader)->stats();
  EXPECT_EQ(stats.events, expected.events);
  EXPECT_EQ(stats.skipped, 0);
  EXPECT_EQ(users.size(), expected.users);
  EXPECT_EQ(items.size(), expected.items_with_events);
  EXPECT_EQ((*reader)->items().size(), expected.items_with_metadata);
}

Opener MovieLens() {
  return [](const std::string& path) { return OpenMovieLens(path, SkipPolicy{}); };
}

TEST(RealDatasetsTest, Ml100k) {
  CheckDataset("ml-100k", MovieLens(), {100000, 943, 1682, 1682});
}

TEST(RealDatasetsTest, Ml1mPartial) {
  CheckDataset("ml-1m-partial", MovieLens(), {487650, 2999, 3615, 3883});
}

TEST(RealDatasetsTest, MlLatestSmall) {
  CheckDataset("ml-latest-small", MovieLens(), {100836, 610, 9724, 9742});
}

TEST(RealDatasetsTest, MlLatestSmallDslabs) {
  CheckDataset("ml-latest-small-dslabs", MovieLens(), {100004, 671, 9066, 9066});
}

TEST(RealDatasetsTest, TaobaoHead) {
  CheckDataset("taobao-userbehavior-head",
               [](const std::string& path) { return OpenTaobao(path, SkipPolicy{}); },
               {84475, 815, 55368, 55368});
}

TEST(RealDatasetsTest, Lastfm) {
  CheckDataset("lastfm-hetrec2011-2k",
               [](const std::string& path) { return OpenLastfm(path, SkipPolicy{}); },
               {92834, 1892, 17632, 17632});
}

// The benchmark files: exactly their PROVENANCE.md counts (and the papers' for Beauty).
TEST(RealDatasetsTest, Ml1mSasrecFile) {
  CheckDataset("ml-1m-sasrec/ml-1m.txt",
               [](const std::string& path) { return OpenSeqFile(path, SkipPolicy{}); },
               {999572, 6039, 3416, 0});
}

TEST(RealDatasetsTest, AmazonBeautyS3RecFile) {
  CheckDataset("amazon-beauty-s3rec/Beauty.txt",
               [](const std::string& path) { return OpenSeqFile(path, SkipPolicy{}); },
               {198502, 22363, 12101, 0});
}

}  // namespace
}  // namespace flywheel::data
