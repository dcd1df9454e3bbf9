// Protocol L's split on benchmark sequence files: it must be the papers' split (last item test,
// second-to-last validation, the rest training), checked on a fixture and, when present, on the
// shared benchmark files against their own lines.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/dataset.h"
#include "eval/protocols.h"
#include "testing/status_matchers.h"

namespace flywheel::eval::internal {
namespace {

using ::flywheel::testing::TempDir;

// The first `n` lines of a sequence file as token lists (read independently of the reader).
std::vector<std::vector<std::string>> FirstLines(const std::string& path, int n) {
  std::vector<std::vector<std::string>> out;
  std::ifstream in(path);
  std::string line;
  while (static_cast<int>(out.size()) < n && std::getline(in, line)) {
    std::istringstream tokens(line);
    std::vector<std::string> row;
    for (std::string token; tokens >> token;) {
      row.push_back(token);
    }
    out.push_back(row);
  }
  return out;
}

struct Counts {
  size_t users = 0;
  size_t items = 0;
  size_t test_users = 0;
  size_t train_events = 0;
};

// Checks the split of the file at `path` against its first `check` lines; returns the counts.
Counts CheckSplit(const std::string& path, int check) {
  Result<data::Dataset> dataset =
      data::LoadDataset("seqfile:" + path, EventTypeTable::Default(), data::SkipPolicy{});
  EXPECT_OK(dataset);
  if (!dataset.ok()) {
    return {};
  }
  const auto& events = dataset->events;
  LeaveLastOutSplit split = MakeLeaveLastOutSplit(events, dataset->users.size());
  Counts counts{dataset->users.size(), dataset->items.size(), 0, split.train.size()};
  for (size_t u = 0; u < dataset->users.size(); ++u) {
    counts.test_users += split.test_event[u] != SIZE_MAX ? 1 : 0;
  }
  for (const std::vector<std::string>& line : FirstLines(path, check)) {
    const auto user = dataset->users.Find(line[0]);
    EXPECT_TRUE(user.has_value()) << line[0];
    if (!user.has_value() || line.size() < 4) {
      continue;
    }
    const size_t test = split.test_event[*user];
    const size_t valid = split.valid_event[*user];
    EXPECT_NE(test, SIZE_MAX) << "user " << line[0];
    if (test == SIZE_MAX) {
      continue;
    }
    EXPECT_EQ(dataset->items.external(events[test].item), line.back()) << "user " << line[0];
    EXPECT_EQ(dataset->items.external(events[valid].item), line[line.size() - 2]);
    // Training: the items before the validation one, in the file's order.
    std::vector<std::string> train;
    for (const auto& e : split.train) {
      if (e.user == *user) {
        train.push_back(dataset->items.external(e.item));
      }
    }
    EXPECT_EQ(train, std::vector<std::string>(line.begin() + 1, line.end() - 2));
  }
  return counts;
}

TEST(LeaveLastOutSplitTest, SequenceFileSplitIsThePapers) {
  TempDir dir;
  const std::string path = dir.WriteFile("seq.txt", "1 5 6 7 8\n2 6 9 5\n3 5 6\n4 9 8 7 6 5 10\n");
  const Counts counts = CheckSplit(path, 4);
  EXPECT_EQ(counts.users, 4u);
  EXPECT_EQ(counts.items, 6u);
  EXPECT_EQ(counts.test_users, 3u);  // user 3 has 2 items: training only
  EXPECT_EQ(counts.train_events, 2u + 1u + 2u + 4u);
}

void CheckBenchmarkFile(const std::string& path, const Counts& expected) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    GTEST_SKIP() << path << " not present";
  }
  const Counts counts = CheckSplit(path, 20);
  EXPECT_EQ(counts.users, expected.users);
  EXPECT_EQ(counts.items, expected.items);
  EXPECT_EQ(counts.test_users, expected.users);  // every user has >= 3 items: all evaluated
  EXPECT_EQ(counts.train_events, expected.train_events);
}

TEST(LeaveLastOutSplitTest, Ml1mSasrecFile) {
  // 999,572 interactions, 2 held out per user.
  CheckBenchmarkFile("../shared/datasets/ml-1m-sasrec/ml-1m.txt",
                     {6039, 3416, 6039, 999572 - 2 * 6039});
}

TEST(LeaveLastOutSplitTest, AmazonBeautyS3RecFile) {
  CheckBenchmarkFile("../shared/datasets/amazon-beauty-s3rec/Beauty.txt",
                     {22363, 12101, 22363, 198502 - 2 * 22363});
}

}  // namespace
}  // namespace flywheel::eval::internal
