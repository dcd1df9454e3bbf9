// List policies: specs, experiment arms, and the policies through the engine (business rules,
// propensities of served lists, Engine::Propensities, determinism).
#include "engine/serve/policy.h"

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

TEST(ParseListPolicy, CanonicalForms) {
  const std::map<std::string, std::string> cases = {
      {"greedy", "greedy"},
      {"epsilon:0.1", "epsilon:0.1"},
      {"epsilon:0.10", "epsilon:0.1"},
      {"boltzmann:0.5/pool=30", "boltzmann:0.5/pool=30"},
      {"thompson:1/samples=512", "thompson:1/samples=512"},
      {"reward", "reward"},
      {"reward+greedy", "reward"},
      {"reward+epsilon:0.2/pool=5", "reward+epsilon:0.2/pool=5"},
  };
  for (const auto& [spec, canonical] : cases) {
    Result<ListPolicySpec> p = ParseListPolicy(spec);
    ASSERT_TRUE(p.ok()) << spec << ": " << p.status().message();
    EXPECT_EQ(p->Canonical(), canonical);
    // The canonical form parses to itself.
    EXPECT_EQ(ParseListPolicy(p->Canonical())->Canonical(), canonical);
  }
  EXPECT_EQ(ParseListPolicy("epsilon:0.1")->kind, PolicyKind::kEpsilon);
  EXPECT_TRUE(ParseListPolicy("reward+boltzmann:2")->reward);
}

TEST(ParseListPolicy, ErrorsNameTheSpec) {
  for (const std::string bad :
       {"", "best", "epsilon", "epsilon:0", "epsilon:1.5", "epsilon:x", "boltzmann:-1",
        "thompson:0", "greedy:1", "greedy/pool=3", "epsilon:0.1/pool=0", "epsilon:0.1/size=3",
        "epsilon:0.1/samples=2", "rewards", "reward+", "reward+best", "epsilon:nan"}) {
    Result<ListPolicySpec> p = ParseListPolicy(bad);
    EXPECT_THAT(p.status(), StatusIs(StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(p.status().message(), HasSubstr("'" + bad + "'"));
  }
}

TEST(PolicyArms, SplitUsersByShareStably) {
  Result<std::vector<PolicyArm>> arms =
      ParsePolicyArms("greedy@0.7,epsilon:0.1@0.2,boltzmann:1@0.1");
  ASSERT_TRUE(arms.ok()) << arms.status().message();
  ASSERT_EQ(arms->size(), 3u);
  std::map<std::string, int> count;
  const int users = 20000;
  for (int u = 0; u < users; ++u) {
    const std::string id = "user-" + std::to_string(u);
    const ListPolicySpec& arm = ArmFor(*arms, id, "salt1");
    ++count[arm.Canonical()];
    EXPECT_EQ(ArmFor(*arms, id, "salt1").Canonical(), arm.Canonical());  // stable
  }
  // Binomial standard error at 20000 users: at most 0.0035; 4.5 of them.
  EXPECT_NEAR(count["greedy"] / double(users), 0.7, 0.016);
  EXPECT_NEAR(count["epsilon:0.1"] / double(users), 0.2, 0.016);
  EXPECT_NEAR(count["boltzmann:1"] / double(users), 0.1, 0.016);
  // Another salt reshuffles the users (about half of the users change arms... at least some).
  int moved = 0;
  for (int u = 0; u < 1000; ++u) {
    const std::string id = "user-" + std::to_string(u);
    moved += ArmFor(*arms, id, "salt1").Canonical() != ArmFor(*arms, id, "salt2").Canonical();
  }
  EXPECT_GT(moved, 200);
  // One spec: one arm of share 1.
  EXPECT_EQ(ParsePolicyArms("epsilon:0.2")->size(), 1u);
}

TEST(PolicyArms, BadArmsAreRefused) {
  for (const std::string bad : {"greedy@0.5", "greedy@0.5,epsilon:0.1@0.6", "greedy@x",
                                "greedy@0.5,bogus@0.5", "greedy@0,epsilon:0.1@1", "greedy@0.5,"}) {
    EXPECT_THAT(ParsePolicyArms(bad).status(), StatusIs(StatusCode::kInvalidArgument)) << bad;
  }
  LoopOptions loop;
  loop.policy = "epsilon:2";
  const Status st = ValidateLoopPolicy(loop);
  EXPECT_THAT(st, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(st.field(), "loop.policy");
  EXPECT_THAT(st.message(), HasSubstr("epsilon:2"));
}

// ---------------------------------------------------------------- through the engine

constexpr TimestampMs kT0 = 1'700'000'000'000;
constexpr int kGroups = 4;
constexpr int kItemsPerGroup = 30;

class PolicyEngineTest : public ::testing::Test {
 protected:
  void Open(const std::string& dir, PipelineOptions pipeline = {}, LoopOptions loop = {}) {
    EngineOptions o;
    o.data_dir = dir;
    o.models = {ModelSpec{"bpr", {{"dim", "16"}, {"seed", "3"}}}};
    o.snapshot_on_close = false;
    o.pipeline = std::move(pipeline);
    o.loop = std::move(loop);
    auto engine = Engine::Open(o);
    ASSERT_OK(engine.status());
    engine_ = std::move(engine).value();
    for (int item = 0; item < kGroups * kItemsPerGroup; ++item) {
      ASSERT_OK(engine_
                    ->PutItem(Item{"i" + std::to_string(item),
                                   "",
                                   {"cat" + std::to_string(item / kItemsPerGroup)},
                                   {},
                                   {},
                                   kT0})
                    .status());
    }
    base::Rng rng(11);
    std::vector<Event> events;
    for (int i = 0; i < 1500; ++i) {
      const int g = static_cast<int>(rng.Uniform(kGroups));
      events.push_back(Event{"u" + std::to_string(g) + "-" + std::to_string(rng.Uniform(10)),
                             "i" + std::to_string(g * kItemsPerGroup + rng.Uniform(kItemsPerGroup)),
                             "click",
                             1.0,
                             kT0 + i * 1000,
                             "",
                             {}});
    }
    auto r = engine_->Ingest(events);
    ASSERT_OK(r.status());
    ASSERT_OK(engine_->WaitForApplied(r->last_seq, 60000));
  }

  Result<RecommendResult> Recommend(const std::string& user, const std::string& policy,
                                    int k = 10) {
    RecommendQuery q;
    q.user = user;
    q.k = k;
    q.policy = policy;
    return engine_->Recommend(q);
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(PolicyEngineTest, GreedyIsTheDefaultWithPropensityOne) {
  Open(dir_.path());
  Result<RecommendResult> r = Recommend("u1-2", "");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->policy, "greedy");
  ASSERT_EQ(r->items.size(), 10u);
  for (const Recommendation& item : r->items) {
    EXPECT_EQ(item.propensity, 1.0);
    EXPECT_EQ(item.step, 1.0);
  }
  Result<RecommendResult> again = Recommend("u1-2", "greedy");
  ASSERT_OK(again.status());
  for (size_t i = 0; i < r->items.size(); ++i) {
    EXPECT_EQ(r->items[i].item, again->items[i].item);
  }
}

TEST_F(PolicyEngineTest, BadPoliciesAreRefused) {
  Open(dir_.path());
  EXPECT_THAT(Recommend("u1-2", "epsilon:3").status(), StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(Recommend("u1-2", "epsilon:3").status().field(), "policy");
  // The learned state's RewardRanker is the reranker of "reward" policies: served, with the
  // named policy's propensities.
  const auto reward = Recommend("u1-2", "reward+epsilon:0.1");
  ASSERT_OK(reward.status());
  EXPECT_EQ(reward->policy, "reward+epsilon:0.1");
  engine_.reset();
  TempDir other;
  EngineOptions o;
  o.data_dir = other.path();
  o.loop.policy = "greedy@0.5,epsilon:0.1@0.4";
  const Status open = Engine::Open(o).status();
  EXPECT_THAT(open, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(open.field(), "loop.policy");
}

// Frequencies of (slot, item) over many served lists against the served propensities.
TEST_F(PolicyEngineTest, ServedPropensitiesMatchFrequencies) {
  Open(dir_.path());
  for (const std::string policy : {"epsilon:0.3/pool=5", "boltzmann:0.3"}) {
    std::map<std::pair<size_t, std::string>, double> freq;
    std::map<std::pair<size_t, std::string>, double> propensity;
    const int draws = 1500;
    for (int d = 0; d < draws; ++d) {
      Result<RecommendResult> r = Recommend("u2-4", policy, 5);
      ASSERT_OK(r.status());
      EXPECT_EQ(r->policy, policy);
      for (size_t j = 0; j < r->items.size(); ++j) {
        const auto key = std::make_pair(j, r->items[j].item);
        freq[key] += 1.0 / draws;
        propensity[key] = r->items[j].propensity;  // exact for epsilon, slot 1 of boltzmann
        EXPECT_GT(r->items[j].step, 0.0);
        EXPECT_LE(r->items[j].step, 1.0);
      }
    }
    for (const auto& [key, f] : freq) {
      const double p = propensity[key];
      const double se = std::sqrt(p * (1 - p) / draws) + std::sqrt(p / 256.0);
      EXPECT_NEAR(p, f, 4.5 * se + 0.01) << policy << " slot " << key.first << " " << key.second;
    }
  }
}

TEST_F(PolicyEngineTest, BusinessRulesHoldUnderEveryPolicy) {
  PipelineOptions pipeline;
  pipeline.max_per_category = 3;
  pipeline.exploration = 0.2;
  pipeline.trending_candidates = 100;
  Open(dir_.path(), pipeline);
  // New items (first seen now) for the exploration slots.
  for (int n = 0; n < 6; ++n) {
    ASSERT_OK(
        engine_->PutItem(Item{"new" + std::to_string(n), "", {"cat9"}, {}, {}, kT0 + 2'000'000})
            .status());
  }
  const std::vector<Event> late = {Event{"u0-0", "i0", "click", 1.0, kT0 + 2'000'000, "", {}}};
  auto r0 = engine_->Ingest(late);
  ASSERT_OK(r0.status());
  ASSERT_OK(engine_->WaitForApplied(r0->last_seq, 60000));
  for (const std::string policy :
       {"greedy", "epsilon:0.5", "boltzmann:2", "thompson:2", "epsilon:1/pool=40"}) {
    for (int d = 0; d < 30; ++d) {
      Result<RecommendResult> r = Recommend("u1-" + std::to_string(d % 10), policy, 10);
      ASSERT_OK(r.status());
      std::map<std::string, int> per_category;
      std::set<std::string> items;
      int fresh = 0;
      for (const Recommendation& item : r->items) {
        EXPECT_TRUE(items.insert(item.item).second) << "repeated " << item.item;
        const bool is_new = item.item.rfind("new", 0) == 0;
        const std::string cat =
            is_new ? "cat9" : "cat" + std::to_string(std::stoi(item.item.substr(1)) / 30);
        EXPECT_LE(++per_category[cat], 3)
            << policy << ": " << cat << " " << item.item << " " << item.source;
        if (item.source == "new") {
          ++fresh;
          EXPECT_EQ(item.propensity, 1.0);  // the deterministic new-item slots
          EXPECT_TRUE(item.exploration);
        }
        EXPECT_GT(item.propensity, 0.0);
      }
      EXPECT_EQ(fresh, 2) << policy;
      EXPECT_EQ(r->items.size(), 10u) << policy;
    }
  }
}

TEST_F(PolicyEngineTest, PropensitiesOfAServedListAreTheServedOnes) {
  Open(dir_.path());
  RecommendQuery q;
  q.user = "u3-1";
  q.k = 8;
  for (const std::string policy : {"greedy", "epsilon:0.2", "boltzmann:0.5", "thompson:0.5"}) {
    q.policy = policy;
    Result<RecommendResult> r = engine_->Recommend(q);
    ASSERT_OK(r.status());
    std::vector<ShownItem> shown;
    for (size_t j = 0; j < r->items.size(); ++j) {
      shown.push_back(ShownItem{r->items[j].item, static_cast<uint32_t>(j), 0, 0});
    }
    std::vector<double> steps;
    Result<std::vector<double>> p = engine_->Propensities(q, shown, &steps, 1234);
    ASSERT_OK(p.status());
    ASSERT_EQ(p->size(), shown.size());
    for (size_t j = 0; j < shown.size(); ++j) {
      EXPECT_GT((*p)[j], 0.0) << policy << " slot " << j;
      if (policy == "greedy" || policy == "epsilon:0.2" ||
          (policy == "boltzmann:0.5" && j == 0)) {  // the exact ones
        EXPECT_DOUBLE_EQ((*p)[j], r->items[j].propensity) << policy << " slot " << j;
      }
      if (policy != "thompson:0.5") {  // exact steps
        EXPECT_DOUBLE_EQ(steps[j], r->items[j].step) << policy << " slot " << j;
      }
    }
    // An item the policy cannot show there, and an unknown item: 0.
    std::vector<ShownItem> odd = {ShownItem{"no-such-item", 0, 0, 0},
                                  ShownItem{r->items[0].item, 1, 0, 0}};
    p = engine_->Propensities(q, odd, &steps, 1);
    ASSERT_OK(p.status());
    EXPECT_EQ((*p)[0], 0.0);
    EXPECT_EQ(steps[0], 0.0);
    EXPECT_EQ(steps[1], 0.0);  // after an impossible first slot, the list is impossible
    // The greedy first item is never in the exploration pool, so it cannot be shown second;
    // an explored first item (epsilon drew it from the pool) can: 0.2 / pool there.
    if (policy == "greedy" || (policy == "epsilon:0.2" && !r->items[0].exploration)) {
      EXPECT_EQ((*p)[1], 0.0) << policy;
    }
  }
  std::vector<ShownItem> beyond = {ShownItem{"i1", 8, 0, 0}};
  EXPECT_THAT(engine_->Propensities(q, beyond).status(), StatusIs(StatusCode::kInvalidArgument));
}

TEST_F(PolicyEngineTest, TheSameSeedGivesTheSameLists) {
  LoopOptions loop;
  loop.seed = 42;
  loop.policy = "boltzmann:1@0.5,epsilon:0.3@0.5";
  loop.experiment_salt = "exp1";
  std::vector<std::vector<std::string>> first;
  for (int run = 0; run < 2; ++run) {
    TempDir dir;
    Open(dir.path(), {}, loop);
    std::vector<std::vector<std::string>> lists;
    for (int d = 0; d < 10; ++d) {
      RecommendQuery q;
      q.user = "u0-" + std::to_string(d);
      q.now_ms = kT0 + 5'000'000;
      Result<RecommendResult> r = engine_->Recommend(q);
      ASSERT_OK(r.status());
      EXPECT_TRUE(r->policy == "boltzmann:1" || r->policy == "epsilon:0.3") << r->policy;
      std::vector<std::string> items;
      for (const Recommendation& item : r->items) {
        items.push_back(item.item + "@" + std::to_string(item.propensity));
      }
      lists.push_back(items);
    }
    engine_.reset();
    if (run == 0) {
      first = lists;
    } else {
      EXPECT_EQ(first, lists);
    }
  }
}

}  // namespace
}  // namespace flywheel::engine
