#include "sim/simulator.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/engine_target.h"

namespace flywheel::sim {
namespace {

// A scripted target: lists drawn at random from the catalogue it was given (its own seeded
// generator), excluding the items each user clicked, as a server's exclude_seen would.
class FakeTarget : public SimTarget {
 public:
  explicit FakeTarget(uint64_t seed) : rng_(seed) {}
  std::string Describe() const override { return "fake"; }
  Status PutItems(std::span<const Item> items) override {
    for (const Item& item : items) {
      catalogue_.push_back(item.id);
    }
    ++counters_.item_batches;
    return Status::Ok();
  }
  Result<ServedList> Recommend(const RequestSpec& request) override {
    ++counters_.recommend_calls;
    policies_.push_back(request.policy);
    requests_.push_back(request);
    ServedList list;
    list.recommendation_id = "r" + std::to_string(counters_.recommend_calls);
    const std::vector<std::string>& seen = clicked_[request.user];
    // deterministic_: the list depends only on the user and the time (the same answer twice).
    base::Rng per_request(std::hash<std::string>()(request.user) ^
                          static_cast<uint64_t>(request.now_ms));
    base::Rng& rng = deterministic_ ? per_request : rng_;
    while (static_cast<int>(list.items.size()) < request.k) {
      const std::string& id = catalogue_[rng.Uniform(catalogue_.size())];
      bool dup = std::find(seen.begin(), seen.end(), id) != seen.end();
      for (const ServedItem& s : list.items) {
        dup = dup || s.item == id;
      }
      if (!dup) {
        list.items.push_back({id, 1.0});
      }
    }
    return list;
  }
  Status RecordImpression(const std::string& /*user*/, const ServedList& list,
                          TimestampMs /*ts_ms*/) override {
    ++counters_.impression_calls;
    impressions_.push_back(list.recommendation_id);
    return Status::Ok();
  }
  Status SendEvents(std::span<const Event> events) override {
    ++counters_.event_batches;
    for (const Event& e : events) {
      ++counters_.events_sent;
      clicked_[e.user].push_back(e.item);
      events_.push_back(e);
    }
    return Status::Ok();
  }
  TargetCounters counters() const override { return counters_; }

  std::vector<Event> events_;
  std::vector<std::string> impressions_;
  std::vector<std::string> policies_;
  std::vector<RequestSpec> requests_;
  bool deterministic_ = false;

 private:
  base::Rng rng_;
  std::vector<std::string> catalogue_;
  std::map<std::string, std::vector<std::string>> clicked_;
  TargetCounters counters_;
};

WorldOptions SmallWorld() {
  WorldOptions w;
  w.users = 40;
  w.items = 120;
  w.dim = 8;
  return w;
}

SimOptions SmallRun(uint64_t seed) {
  SimOptions o;
  o.days = 3;
  o.requests_per_day = 80;
  o.k = 5;
  o.seed = seed;
  o.new_items_per_day = 10;
  o.warmup_clicks = 2;
  return o;
}

Result<Report> RunFake(const SimOptions& options, FakeTarget* target) {
  Simulator sim(options, World::Synthetic(SmallWorld(), options.seed), target);
  return sim.Run();
}

TEST(SimulatorTest, SameSeedSameReport) {
  FakeTarget a(1);
  FakeTarget b(1);
  FakeTarget c(1);
  auto ra = RunFake(SmallRun(7), &a);
  auto rb = RunFake(SmallRun(7), &b);
  auto rc = RunFake(SmallRun(8), &c);
  ASSERT_TRUE(ra.ok()) << ra.status().message();
  ASSERT_TRUE(rb.ok() && rc.ok());
  EXPECT_EQ(ra->ToJson(false).dump(), rb->ToJson(false).dump());
  EXPECT_NE(ra->ToJson(false).dump(), rc->ToJson(false).dump());
  ASSERT_EQ(a.events_.size(), b.events_.size());
  for (size_t n = 0; n < a.events_.size(); ++n) {
    EXPECT_EQ(a.events_[n].id, b.events_[n].id);
    EXPECT_EQ(a.events_[n].ts_ms, b.events_[n].ts_ms);
  }
}

TEST(SimulatorTest, ReportAddsUpAndPostsImpressionsAndOutcomes) {
  FakeTarget target(3);
  SimOptions options = SmallRun(11);
  options.policy = "epsilon:0.1";
  auto report = RunFake(options, &target);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->days.size(), 3u);
  int64_t requests = 0;
  int64_t clicks = 0;
  double reward = 0;
  for (const PeriodStats& day : report->days) {
    requests += day.requests;
    clicks += day.clicks;
    reward += day.reward;
    EXPECT_EQ(day.shown, day.requests * 5);
    EXPECT_GE(day.regret(), -1e-9);  // the oracle is never beaten in expectation
    EXPECT_EQ(day.new_items, 10);
  }
  EXPECT_EQ(report->overall.requests, requests);
  EXPECT_EQ(report->overall.clicks, clicks);
  EXPECT_DOUBLE_EQ(report->overall.reward, reward);
  EXPECT_GT(requests, 150);  // Poisson, mean 240
  EXPECT_LT(requests, 340);
  EXPECT_GT(report->overall.regret(), 0);  // random lists are worse than the oracle's
  EXPECT_EQ(report->overall.catalogue, 150);
  EXPECT_EQ(report->first_click.items, 30);
  // Every list shown was posted as an impression; every click (and purchase) as an event that
  // names its list.
  EXPECT_EQ(static_cast<int64_t>(target.impressions_.size()), requests);
  int64_t click_events = 0;
  for (const Event& e : target.events_) {
    if (e.id.find("-w") == std::string::npos) {
      EXPECT_FALSE(e.recommendation_id.empty());
      click_events += e.type == "click" ? 1 : 0;
    }
  }
  EXPECT_EQ(click_events, clicks);
  for (const std::string& policy : target.policies_) {
    EXPECT_EQ(policy, "epsilon:0.1");
  }
}

TEST(SimulatorTest, OracleHasNoRegret) {
  FakeTarget target(1);
  SimOptions options = SmallRun(5);
  options.policy = kOraclePolicy;
  auto report = RunFake(options, &target);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_GT(report->overall.oracle_expected_reward, 0);
  EXPECT_EQ(report->overall.regret(), 0.0);
  for (const PeriodStats& day : report->days) {
    EXPECT_EQ(day.regret(), 0.0);
  }
  EXPECT_EQ(target.counters().recommend_calls, 0);  // the oracle is the simulator's own
  // And it beats random lists on the same users at the same times (common random numbers).
  FakeTarget random_target(1);
  options.policy.clear();
  auto random = RunFake(options, &random_target);
  ASSERT_TRUE(random.ok());
  EXPECT_EQ(random->overall.requests, report->overall.requests);
  EXPECT_GT(report->overall.expected_reward, 2 * random->overall.expected_reward);
  EXPECT_GT(report->overall.ctr(), random->overall.ctr());
}

TEST(SimulatorTest, CounterfactualTargetsAreFetchedNotShownAndValuedLikeTheServedList) {
  auto parsed = ParseCounterfactual("itemknn:boltzmann:0.5");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->model, "itemknn");
  EXPECT_EQ(parsed->policy, "boltzmann:0.5");
  parsed = ParseCounterfactual("epsilon:0.1/pool=30");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->model, "");
  EXPECT_EQ(parsed->policy, "epsilon:0.1/pool=30");
  EXPECT_FALSE(ParseCounterfactual("bpr").ok());
  EXPECT_FALSE(ParseCounterfactual("bpr:").ok());

  // The fake answers the same list to the same user at the same time, so a counterfactual
  // target is valued exactly as the served list: same fatigue, same click probabilities.
  FakeTarget target(3);
  target.deterministic_ = true;
  SimOptions options = SmallRun(9);
  options.counterfactuals = {*ParseCounterfactual("m:greedy")};
  auto report = RunFake(options, &target);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const nlohmann::json& cf = report->counterfactual;
  ASSERT_EQ(cf.size(), 1u);
  EXPECT_EQ(cf[0]["target"], "m:greedy");
  EXPECT_EQ(cf[0]["lists"], report->overall.requests);
  EXPECT_GT(report->overall.expected_reward, 0);
  EXPECT_NEAR(cf[0]["expected_reward"].get<double>(), report->overall.expected_reward, 1e-9);
  // Each served request was preceded by its counterfactual one: model and policy given, not
  // recorded; the impressions posted are the served lists' only.
  int counterfactual_requests = 0;
  for (const RequestSpec& r : target.requests_) {
    if (r.model == "m") {
      ++counterfactual_requests;
      EXPECT_EQ(r.policy, "greedy");
      EXPECT_FALSE(r.record_impression);
    }
  }
  EXPECT_EQ(counterfactual_requests, report->overall.requests);
  EXPECT_EQ(target.counters().impression_calls, report->overall.requests);
  EXPECT_TRUE(report->ToJson(false).contains("counterfactual"));
}

TEST(SimulatorTest, FirstClicksOfNewItemsAreCounted) {
  FakeTarget target(2);
  auto report = RunFake(SmallRun(13), &target);
  ASSERT_TRUE(report.ok());
  const FirstClickTracker::Summary& s = report->first_click;
  EXPECT_EQ(s.items, 30);
  EXPECT_EQ(s.clicked + s.never_clicked, s.items);
  EXPECT_EQ(report->overall.new_item_first_clicks, s.clicked);
  // New items of day d arrive at its start: a first click lies within the run.
  EXPECT_GE(s.mean_hours_clicked, 0);
  EXPECT_LE(s.median_hours, 72.0);
  EXPECT_LE(s.mean_hours, 72.0);
}

TEST(SimulatorTest, OracleListExcludesClickedItemsAndIsSortedByClickProbability) {
  FakeTarget target(1);
  SimOptions options = SmallRun(3);
  Simulator sim(options, World::Synthetic(SmallWorld(), 3), &target);
  const std::vector<int> list = sim.OracleList(0);
  ASSERT_EQ(list.size(), 5u);
  for (size_t p = 1; p < list.size(); ++p) {
    EXPECT_GE(sim.world().ClickProb(0, list[p - 1], 0), sim.world().ClickProb(0, list[p], 0));
  }
  double best_other = 0;
  for (int i = 0; i < sim.world().num_items(); ++i) {
    if (std::find(list.begin(), list.end(), i) == list.end()) {
      best_other = std::max(best_other, sim.world().ClickProb(0, i, 0));
    }
  }
  EXPECT_GE(sim.world().ClickProb(0, list.back(), 0), best_other);
}

// The in-process engine target: the same simulation twice gives the same report.
TEST(SimulatorTest, EngineTargetIsDeterministic) {
  auto run = [](const std::string& dir) -> Result<Report> {
    std::filesystem::remove_all(dir);
    EngineOptions engine;
    engine.data_dir = dir;
    engine.durability = "interval:1000";
    engine.models = {ModelSpec{"pop", {}}};
    engine.loop.seed = 9;
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<EngineTarget> target, EngineTarget::Open(engine));
    SimOptions options = SmallRun(21);
    options.days = 2;
    Simulator sim(options, World::Synthetic(SmallWorld(), 21), target.get());
    FLYWHEEL_ASSIGN_OR_RETURN(Report report, sim.Run());
    const EngineStats stats = target->engine().stats();
    if (stats.items != 140 || static_cast<int64_t>(stats.last_seq) < 140 + report.overall.clicks) {
      return Status::Internal("the engine did not get the simulation's items and events");
    }
    FLYWHEEL_RETURN_IF_ERROR(target->Close());
    return report;
  };
  const std::string base = ::testing::TempDir() + "/sim_engine_target";
  auto a = run(base + "_a");
  auto b = run(base + "_b");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_GT(a->overall.clicks, 0);
  a->target.erase("describe");  // names the data directory
  b->target.erase("describe");
  EXPECT_EQ(a->ToJson(false).dump(), b->ToJson(false).dump());
  std::filesystem::remove_all(base + "_a");
  std::filesystem::remove_all(base + "_b");
}

}  // namespace
}  // namespace flywheel::sim
