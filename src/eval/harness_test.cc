#include "eval/harness.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "model/baselines.h"
#include "testing/status_matchers.h"

namespace flywheel::eval {
namespace {

using model::RecommendRequest;
using model::ScoredItem;
using model::UserState;

// A dataset of `users` users and `items` items, events at distinct increasing times (1 s apart);
// user u picks uniformly among `spread` items from (u * 7) mod items, so ItemKNN has a signal.
data::Dataset MakeDataset(int users, int items, int events, uint64_t seed, int spread = 8) {
  data::Dataset ds;
  ds.name = "test";
  ds.default_positive = "all";
  base::Rng rng(seed);
  const EventTypeId click = *ds.types.Find("click");
  for (int i = 0; i < events; ++i) {
    data::Interaction e;
    const auto user = static_cast<UserIdx>(rng.Uniform(static_cast<uint64_t>(users)));
    const auto center = static_cast<int64_t>(user) * 7 % items;
    e.user = ds.users.GetOrAdd("u" + std::to_string(user));
    const int64_t item =
        (center + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(spread)))) % items;
    e.item = ds.items.GetOrAdd("i" + std::to_string(item));
    e.ts_ms = 1000 * (i + 1);
    e.type = click;
    e.weight = 1.0f;
    ds.events.push_back(e);
  }
  ds.num_items_with_events = static_cast<int64_t>(ds.items.size());
  ds.item_meta.resize(ds.items.size());
  return ds;
}

// Records every call; ranks items by id so its recommendations are deterministic.
struct CallLog {
  std::vector<std::string> calls;
};

class SpyModel final : public model::Recommender {
 public:
  explicit SpyModel(CallLog* log) : log_(log) {}
  std::string name() const override { return "spy"; }
  KeyValues params() const override { return {}; }
  void Observe(const data::Interaction& e, const UserState& /*user*/) override {
    log_->calls.push_back("O " + std::to_string(e.user) + " " + std::to_string(e.ts_ms));
    max_observed_ts_ = std::max(max_observed_ts_, e.ts_ms);
    num_items_ = std::max<size_t>(num_items_, e.item + 1);
  }
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override {
    // "R" for the top K, "Q" for protocol P's second request, the top 20 (K != 20).
    log_->calls.push_back((request.k == 20 ? "Q " : "R ") + std::to_string(request.user) + " " +
                          std::to_string(request.now_ms));
    // The model must never have seen an event at or after the request time.
    EXPECT_LT(max_observed_ts_, request.now_ms);
    out->clear();
  }
  size_t num_items() const override { return num_items_; }

 private:
  CallLog* log_;
  TimestampMs max_observed_ts_ = 0;
  size_t num_items_ = 0;
};

ModelEntry SpyEntry(CallLog* log) {
  return ModelEntry{"spy", [log]() -> Result<std::unique_ptr<model::Recommender>> {
                      return std::unique_ptr<model::Recommender>(std::make_unique<SpyModel>(log));
                    }};
}

TEST(HarnessTest, PrequentialRecommendsBeforeObservingEachEvent) {
  const data::Dataset ds = MakeDataset(5, 30, 200, 1);
  CallLog log;
  EvalOptions options;
  auto doc = RunEvaluation(ds, {SpyEntry(&log)}, options);
  ASSERT_OK(doc);
  // Walk the log: every R for (user, ts) is immediately followed by the Q (top 20) and then
  // the O of that event, and the number of O's before it equals the event's position in the
  // stream.
  size_t observed = 0;
  int64_t recommends = 0;
  for (size_t i = 0; i < log.calls.size(); ++i) {
    const std::string& call = log.calls[i];
    if (call[0] == 'R') {
      ++recommends;
      ASSERT_LT(i + 2, log.calls.size());
      const auto& e = ds.events[observed];
      const std::string at = std::to_string(e.user) + " " + std::to_string(e.ts_ms);
      EXPECT_EQ(call, "R " + at);
      EXPECT_EQ(log.calls[i + 1], "Q " + at);
      EXPECT_EQ(log.calls[i + 2], "O " + at);
    } else if (call[0] == 'O') {
      ++observed;
    }
  }
  EXPECT_EQ(observed, ds.events.size());
  EXPECT_EQ(recommends, (*doc)["events_scored"].get<int64_t>());
  // Scored = first interactions of a user with an item (repeats are learned from, not scored).
  std::set<std::pair<UserIdx, ItemIdx>> pairs;
  for (const auto& e : ds.events) {
    pairs.insert({e.user, e.item});
  }
  EXPECT_EQ(recommends, static_cast<int64_t>(pairs.size()));
  EXPECT_LT(recommends, 200);
}

TEST(HarnessTest, WarmupFitsOnPrefixAndScoresOnlyTheRest) {
  const data::Dataset ds = MakeDataset(5, 30, 200, 2);
  CallLog log;
  EvalOptions options;
  options.warmup = 0.5;
  ASSERT_OK(RunEvaluation(ds, {SpyEntry(&log)}, options));
  // Time span 1 s..200 s: the cut is at ts >= 100.5 s, so events 0..99 (ts <= 100 s) are
  // warm-up: the default Fit replays them through Observe, and none of them is scored.
  size_t observed_before_first_r = 0;
  while (observed_before_first_r < log.calls.size() &&
         log.calls[observed_before_first_r][0] != 'R') {
    ++observed_before_first_r;
  }
  EXPECT_GE(observed_before_first_r, 100u);
  std::set<std::pair<UserIdx, ItemIdx>> seen;
  int64_t expected_scored = 0;
  for (size_t i = 0; i < ds.events.size(); ++i) {
    const bool first = seen.insert({ds.events[i].user, ds.events[i].item}).second;
    expected_scored += (i >= 100 && first) ? 1 : 0;
  }
  int64_t recommends = 0;
  for (const auto& call : log.calls) {
    if (call[0] == 'R') {
      ++recommends;
      EXPECT_GT(std::stoll(call.substr(call.rfind(' ') + 1)), 100000) << call;
    }
  }
  EXPECT_EQ(recommends, expected_scored);
  EXPECT_GT(expected_scored, 0);
}

TEST(HarnessTest, FrozenNeverObservesAndRetrainRefits) {
  const data::Dataset ds = MakeDataset(5, 30, 120, 3);
  CallLog log;
  EvalOptions options;
  options.updates = {*UpdateMode::Parse("frozen")};
  ASSERT_OK(RunEvaluation(ds, {SpyEntry(&log)}, options));
  for (const auto& call : log.calls) {
    EXPECT_NE(call[0], 'O');
  }
  options.updates = {*UpdateMode::Parse("retrain:30s")};
  auto doc = RunEvaluation(ds, {SpyEntry(&log)}, options);
  ASSERT_OK(doc);
  // 120 events one second apart: retrains at 31s, 61s, 91s -> 3.
  EXPECT_EQ((*doc)["results"][0]["retrains"].get<int>(), 3);
}

TEST(HarnessTest, DeterministicAndItemKnnBeatsPopOnStructuredData) {
  const data::Dataset ds = MakeDataset(60, 200, 6000, 4);
  auto models = MakeModelEntries({{"pop", {}}, {"recentpop", {}}, {"itemknn", {}}});
  ASSERT_OK(models);
  EvalOptions options;
  options.timing = false;
  auto first = RunEvaluation(ds, *models, options);
  auto second = RunEvaluation(ds, *models, options);
  ASSERT_OK(first);
  ASSERT_OK(second);
  (*first).erase("machine");
  (*second).erase("machine");
  EXPECT_EQ(first->dump(), second->dump());
  const auto& results = (*first)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["model"], "pop");
  EXPECT_EQ(results[2]["model"], "itemknn");
  const double pop_hr = results[0]["metrics"]["hr"].get<double>();
  const double knn_hr = results[2]["metrics"]["hr"].get<double>();
  EXPECT_GT(knn_hr, pop_hr + 0.05);
  EXPECT_EQ(results[2]["series"]["hr"].size(), 100u);
  EXPECT_FALSE(results[2].contains("recommend_ms_p50"));  // timing off
}

TEST(HarnessTest, LeaveLastOutHoldsOutLastTwoDistinctItems) {
  data::Dataset ds;
  ds.name = "loo";
  const EventTypeId click = *ds.types.Find("click");
  // user a: items 0,1,0,2,3 (distinct order 0,1,2,3 -> valid 2, test 3); user b: 0,1 (train only)
  const char* seq[][2] = {{"a", "x0"}, {"a", "x1"}, {"b", "x0"}, {"a", "x0"},
                          {"b", "x1"}, {"a", "x2"}, {"a", "x3"}};
  TimestampMs ts = 0;
  for (const auto& [user, item] : seq) {
    data::Interaction e;
    e.user = ds.users.GetOrAdd(user);
    e.item = ds.items.GetOrAdd(item);
    e.ts_ms = ++ts;
    e.type = click;
    ds.events.push_back(e);
  }
  ds.num_items_with_events = 4;
  CallLog log;
  EvalOptions options;
  options.protocol = Protocol::kLeaveLastOut;
  auto doc = RunEvaluation(ds, {SpyEntry(&log)}, options);
  ASSERT_OK(doc);
  EXPECT_EQ((*doc)["train_events"].get<int>(), 5);  // a: x0,x1,x0  b: x0,x1
  EXPECT_EQ((*doc)["events_scored"].get<int>(), 1);
  // Fit observed the 5 training events, then validation and test requests for user a.
  ASSERT_EQ(log.calls.size(), 7u);
  EXPECT_EQ(log.calls[4], "O 1 5");
  EXPECT_EQ(log.calls[5], "R 0 6");  // validation x2 at ts 6
  EXPECT_EQ(log.calls[6], "Q 0 7");  // test x3 at ts 7, ranked at max(20, K)
}

TEST(HarnessTest, TemporalFrozenVsOnline) {
  const data::Dataset ds = MakeDataset(40, 150, 1500, 5, /*spread=*/40);
  auto models = MakeModelEntries({{"itemknn", {}}});
  ASSERT_OK(models);
  EvalOptions options;
  options.protocol = Protocol::kTemporal;
  options.timing = false;
  auto doc = RunEvaluation(ds, *models, options);
  ASSERT_OK(doc);
  const auto& results = (*doc)["results"];
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["update"], "frozen");
  EXPECT_EQ(results[1]["update"], "online");
  EXPECT_EQ((*doc)["train_events"].get<int>(), 1199);  // index of the 0.8 quantile, 0.8 * 1499
  for (const auto& r : results) {
    const double precision = r["metrics"]["precision"].get<double>();
    EXPECT_GT(precision, 0.0);
    EXPECT_LE(precision, 1.0);
    EXPECT_GT(r["scored"].get<int>(), 0);
  }
  // The single-shot metrics at T do not depend on the update mode.
  EXPECT_EQ(results[0]["metrics"]["ndcg_at_split"], results[1]["metrics"]["ndcg_at_split"]);
}

// Predicts the running mean of the ratings it has observed (3 before any), so RMSE can be
// computed by hand and proves predictions are made before the model learns the event.
class MeanRater final : public model::Recommender {
 public:
  std::string name() const override { return "meanrater"; }
  KeyValues params() const override { return {}; }
  void Observe(const data::Interaction& e, const UserState& /*user*/) override {
    sum_ += e.value;
    ++count_;
  }
  void Recommend(const RecommendRequest& /*request*/, std::vector<ScoredItem>* out) const override {
    out->clear();
  }
  size_t num_items() const override { return 0; }
  std::optional<float> PredictRating(UserIdx /*user*/, ItemIdx /*item*/) const override {
    return count_ == 0 ? 3.0f : static_cast<float>(sum_ / count_);
  }

 private:
  double sum_ = 0;
  int count_ = 0;
};

TEST(HarnessTest, RatingPredictionReportsRmseAndMaeBeforeLearning) {
  data::Dataset ds;
  ds.name = "ratings";
  const EventTypeId rating = *ds.types.Find("rating");
  const float values[] = {5, 1, 4, 2};
  for (int i = 0; i < 4; ++i) {
    data::Interaction e;
    e.user = ds.users.GetOrAdd("u" + std::to_string(i));
    e.item = ds.items.GetOrAdd("i");
    e.ts_ms = i + 1;
    e.type = rating;
    e.value = values[i];
    ds.events.push_back(e);
  }
  ds.num_items_with_events = 1;
  const ModelEntry rater{
      "meanrater", []() -> Result<std::unique_ptr<model::Recommender>> {
        return std::unique_ptr<model::Recommender>(std::make_unique<MeanRater>());
      }};
  EvalOptions options;
  options.timing = false;
  auto doc = RunEvaluation(ds, {rater}, options);
  ASSERT_OK(doc);
  // Predictions before each event: 3, 5, 3, 3.333..; errors -2, 4, -1, 1.333..
  const double e4 = 10.0 / 3 - 2;
  const auto& metrics = (*doc)["results"][0]["metrics"];
  EXPECT_NEAR(metrics["rmse"].get<double>(), std::sqrt((4 + 16 + 1 + e4 * e4) / 4), 1e-6);
  EXPECT_NEAR(metrics["mae"].get<double>(), (2 + 4 + 1 + e4) / 4, 1e-6);
  EXPECT_EQ((*doc)["results"][0]["rated"].get<int>(), 4);
  // Models without rating predictions report no rmse.
  auto pop = RunEvaluation(ds, *MakeModelEntries({{"pop", {}}}), options);
  ASSERT_OK(pop);
  EXPECT_FALSE((*pop)["results"][0]["metrics"].contains("rmse"));
}

TEST(HarnessTest, RejectsBadOptions) {
  const data::Dataset ds = MakeDataset(2, 5, 10, 6);
  EvalOptions options;
  options.k = 0;
  EXPECT_FALSE(RunEvaluation(ds, {}, options).ok());
  options.k = 10;
  options.warmup = 1.0;
  EXPECT_FALSE(RunEvaluation(ds, {}, options).ok());
  options.warmup = 0;
  options.positive = "rating>=x";
  EXPECT_FALSE(RunEvaluation(ds, {}, options).ok());
  EXPECT_FALSE(MakeModelEntries({{"nope", {}}}).ok());
}

}  // namespace
}  // namespace flywheel::eval
