#include "eval/replay.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::eval {
namespace {

// Events (user, item) at 1 s intervals, all clicks.
data::Dataset MakeDataset(const std::vector<std::pair<int, int>>& pairs) {
  data::Dataset ds;
  ds.name = "test";
  ds.default_positive = "all";
  const EventTypeId click = *ds.types.Find("click");
  int64_t ts = 0;
  for (const auto& [user, item] : pairs) {
    data::Interaction e;
    e.user = ds.users.GetOrAdd("u" + std::to_string(user));
    e.item = ds.items.GetOrAdd("i" + std::to_string(item));
    e.ts_ms = (ts += 1000);
    e.type = click;
    e.weight = 1.0f;
    ds.events.push_back(e);
  }
  ds.num_items_with_events = static_cast<int64_t>(ds.items.size());
  ds.item_meta.resize(ds.items.size());
  return ds;
}

// Records the calls ("R <event>" for a request with k != 20, "R20 <event>" with k = 20);
// recommends every known item in index order.
class FakeTarget final : public Target {
 public:
  Status AddItems(size_t from, size_t to) override {
    calls.push_back("A " + std::to_string(from) + " " + std::to_string(to));
    items = to;
    return Status::Ok();
  }
  Status WarmUp(size_t end) override {
    calls.push_back("W " + std::to_string(end));
    return Status::Ok();
  }
  Status Begin(size_t event) override {
    calls.push_back("B " + std::to_string(event));
    return Status::Ok();
  }
  Result<bool> Recommend(size_t event, int k, bool /*exclude_seen*/,
                         std::vector<model::ScoredItem>* top) override {
    calls.push_back((k == 20 ? "R20 " : "R ") + std::to_string(event));
    for (size_t i = 0; i < items && static_cast<int>(i) < k; ++i) {
      top->push_back(model::ScoredItem{static_cast<ItemIdx>(i), 0.0f});
    }
    return answer;
  }
  Status Observe(size_t from, size_t to) override {
    calls.push_back("O " + std::to_string(from) + " " + std::to_string(to));
    return Status::Ok();
  }
  const char* kind() const override { return "fake"; }

  std::vector<std::string> calls;
  size_t items = 0;
  bool answer = true;
};

PositiveFilter All(const data::Dataset& ds) {
  return *PositiveFilter::Parse("all", ds.types);
}

TEST(PrequentialReplayTest, TestsEachEventBeforeTheTargetLearnsFromIt) {
  // u0 i0, u1 i0, u0 i1, u0 i0 (seen: not scored), u1 i2
  const data::Dataset ds = MakeDataset({{0, 0}, {1, 0}, {0, 1}, {0, 0}, {1, 2}});
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  ReplayRules rules;
  rules.k = 2;
  PrequentialReplay replay(ds, positive, rules, &target);
  std::vector<size_t> scored;
  replay.OnTested([&](const TestedEvent& t) {
    if (t.scored) {
      scored.push_back(t.index);
    }
  });
  ASSERT_OK(replay.Run());
  // Each scored event: the top K, then the top 20 (at20), both before the event is observed.
  const std::vector<std::string> expected = {"W 0",   "B 0",   "A 0 1", "R 0",   "R20 0", "O 0 1",
                                             "B 1",   "R 1",   "R20 1", "O 1 2", "B 2",   "A 1 2",
                                             "R 2",   "R20 2", "O 2 3", "B 3",   "O 3 4", "B 4",
                                             "A 2 3", "R 4",   "R20 4", "O 4 5"};
  EXPECT_EQ(target.calls, expected);
  EXPECT_EQ(scored, (std::vector<size_t>{0, 1, 2, 4}));
  // Ranks: event 0 (i0 among {i0}) 1, event 1 (i0) 1, event 2 (i1 among {i0, i1}) 2, event 4
  // (i2 among {i0, i1, i2}, k = 2) a miss.
  EXPECT_EQ(replay.hits().count(), 4);
  EXPECT_DOUBLE_EQ(replay.hits().hr(), 3.0 / 4);
  EXPECT_DOUBLE_EQ(replay.hits().mrr(), (1 + 1 + 0.5) / 4);
  EXPECT_EQ(replay.MetricsJson()["hr"], replay.hits().hr());
  // At 20 every scored item is in the list (3 items at most): event 4 is a hit at rank 3.
  EXPECT_EQ(replay.hits20().count(), 4);
  EXPECT_DOUBLE_EQ(replay.hits20().hr(), 1.0);
  EXPECT_DOUBLE_EQ(replay.hits20().mrr(), (1 + 1 + 0.5 + 1.0 / 3) / 4);
  EXPECT_EQ(replay.MetricsJson()["hr@20"], replay.hits20().hr());
  // The latency histogram holds the K requests only.
  EXPECT_EQ(replay.recommend_latency().count(), 4);
}

TEST(PrequentialReplayTest, BatchesAreTestedThenObservedWarmupIsNeverScored) {
  const data::Dataset ds = MakeDataset({{0, 0}, {1, 1}, {0, 2}, {1, 3}, {0, 4}, {1, 5}, {0, 6}});
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  ReplayRules rules;
  rules.batch = 2;
  rules.warmup_end = 2;
  rules.score_every = 2;
  rules.end = 6;
  PrequentialReplay replay(ds, positive, rules, &target);
  ASSERT_OK(replay.Run());
  // Warm-up: items of events 0..1 enter, WarmUp(2). Then batches [2,4) and [4,6): the scorable
  // events 2, 3, 4, 5 are asked one in two (2 and 4), all before their batch is observed.
  const std::vector<std::string> expected = {"A 0 2", "W 2",   "B 2",   "A 2 3", "R 2",   "R20 2",
                                             "B 3",   "A 3 4", "O 2 4", "B 4",   "A 4 5", "R 4",
                                             "R20 4", "B 5",   "A 5 6", "O 4 6"};
  EXPECT_EQ(target.calls, expected);
  EXPECT_EQ(replay.hits().count(), 2);
  EXPECT_TRUE(replay.done());
}

TEST(PrequentialReplayTest, BatchEndFollowsDueAndUnansweredRequestsAreNotScored) {
  const data::Dataset ds = MakeDataset({{0, 0}, {1, 1}, {2, 2}, {3, 3}});
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  target.answer = false;
  ReplayRules rules;
  rules.batch = 10;
  PrequentialReplay replay(ds, positive, rules, &target);
  ASSERT_OK(replay.Start());
  EXPECT_EQ(replay.BatchEnd([](size_t i) { return i < 3; }), 3u);
  EXPECT_EQ(replay.BatchEnd([](size_t) { return false; }), 1u);  // at least one event
  EXPECT_EQ(replay.BatchEnd([](size_t) { return true; }), 4u);
  ASSERT_OK(replay.Step(4));
  EXPECT_EQ(replay.hits().count(), 0);
  EXPECT_EQ(replay.recommend_latency().count(), 4);
  // An unanswered K request is not followed by the request for 20.
  EXPECT_EQ(std::count(target.calls.begin(), target.calls.end(), "R20 0"), 0);
  EXPECT_EQ(replay.hits20().count(), 0);
}

// User 1 brings items 0..19 into the catalogue during the warm-up; then user 0's events are
// tested: item 14 is a miss in the top 10 and rank 15 in the top 20, asked for separately.
data::Dataset Rank15Dataset() {
  std::vector<std::pair<int, int>> pairs;
  for (int item = 0; item < 20; ++item) {
    pairs.emplace_back(1, item);
  }
  pairs.emplace_back(0, 14);
  pairs.emplace_back(0, 3);
  return MakeDataset(pairs);
}

TEST(PrequentialReplayTest, AsksASecondListOfTwentyAndCountsItsRanks) {
  const data::Dataset ds = Rank15Dataset();
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  ReplayRules rules;  // k = 10, at20
  rules.warmup_end = 20;
  PrequentialReplay replay(ds, positive, rules, &target);
  std::vector<TestedEvent> tested;
  replay.OnTested([&](const TestedEvent& t) { tested.push_back(t); });
  ASSERT_OK(replay.Run());
  const std::vector<std::string> expected = {"A 0 20",  "W 20", "B 20", "R 20",   "R20 20",
                                             "O 20 21", "B 21", "R 21", "R20 21", "O 21 22"};
  EXPECT_EQ(target.calls, expected);
  ASSERT_EQ(tested.size(), 2u);
  EXPECT_TRUE(tested[0].scored20);
  EXPECT_EQ(tested[0].rank, 0);  // a miss at K = 10
  EXPECT_EQ(tested[0].rank20, 15);
  EXPECT_EQ(tested[1].rank, 4);
  EXPECT_EQ(tested[1].rank20, 4);
  EXPECT_DOUBLE_EQ(replay.hits().hr(), 0.5);
  EXPECT_DOUBLE_EQ(replay.hits().ndcg(), (1 / std::log2(5.0)) / 2);
  EXPECT_DOUBLE_EQ(replay.hits().mrr(), (1.0 / 4) / 2);
  EXPECT_EQ(replay.hits20().count(), 2);
  EXPECT_DOUBLE_EQ(replay.hits20().hr(), 1.0);
  EXPECT_DOUBLE_EQ(replay.hits20().ndcg(), (1 / std::log2(16.0) + 1 / std::log2(5.0)) / 2);
  EXPECT_DOUBLE_EQ(replay.hits20().mrr(), (1.0 / 15 + 1.0 / 4) / 2);
  const nlohmann::json metrics = replay.MetricsJson();
  EXPECT_EQ(metrics["hr"].get<double>(), 0.5);
  EXPECT_EQ(metrics["hr@20"].get<double>(), 1.0);
  EXPECT_EQ(metrics["ndcg@20"].get<double>(), replay.hits20().ndcg());
  EXPECT_EQ(metrics["mrr@20"].get<double>(), replay.hits20().mrr());
  EXPECT_EQ(replay.recommend_latency().count(), 2);  // the K requests only
}

TEST(PrequentialReplayTest, AtKTwentyTheOneListServesBoth) {
  const data::Dataset ds = Rank15Dataset();
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  ReplayRules rules;
  rules.k = 20;
  rules.warmup_end = 20;
  PrequentialReplay replay(ds, positive, rules, &target);
  ASSERT_OK(replay.Run());
  // One request per test point (k = 20 itself).
  const std::vector<std::string> expected = {"A 0 20",  "W 20", "B 20",   "R20 20",
                                             "O 20 21", "B 21", "R20 21", "O 21 22"};
  EXPECT_EQ(target.calls, expected);
  EXPECT_DOUBLE_EQ(replay.hits().hr(), 1.0);
  EXPECT_EQ(replay.hits20().count(), replay.hits().count());
  const nlohmann::json metrics = replay.MetricsJson();
  for (const char* name : {"hr", "ndcg", "mrr"}) {
    EXPECT_EQ(metrics[std::string(name) + "@20"], metrics[name]) << name;
  }
}

TEST(PrequentialReplayTest, WithoutAt20OneRequestAndNoAt20Metrics) {
  const data::Dataset ds = Rank15Dataset();
  const PositiveFilter positive = All(ds);
  FakeTarget target;
  ReplayRules rules;
  rules.warmup_end = 20;
  rules.at20 = false;
  PrequentialReplay replay(ds, positive, rules, &target);
  ASSERT_OK(replay.Run());
  EXPECT_EQ(std::count(target.calls.begin(), target.calls.end(), "R20 20"), 0);
  EXPECT_EQ(replay.hits().count(), 2);
  EXPECT_EQ(replay.hits20().count(), 0);
  EXPECT_FALSE(replay.MetricsJson().contains("hr@20"));
}

}  // namespace
}  // namespace flywheel::eval
