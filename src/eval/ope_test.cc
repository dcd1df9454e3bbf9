#include "eval/ope.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "eval/ope_reward_model.h"

namespace flywheel::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const OpeEstimatorResult& Find(const OpeReport& report, const std::string& name, size_t t = 0) {
  for (const OpeEstimatorResult& e : report.targets.at(t).estimators) {
    if (e.name == name)
      return e;
  }
  ADD_FAILURE() << "no estimator " << name;
  return report.logged;
}

// A toy slate problem with a known value: 3 slots, each with its own pool of 3 items, the
// logging and the target policy choose each slot's item independently; a shown item is
// clicked with probability examination[slot] * attraction[item], a click earns 1 and, with
// probability 0.3, 2 more (a purchase). Rewards are additive over slots, the logging policy
// is a product: every estimator but dm and snips is unbiased (uncapped weights).
struct Toy {
  std::vector<std::vector<double>> logging = {{0.5, 0.3, 0.2}, {0.2, 0.5, 0.3}, {0.4, 0.4, 0.2}};
  std::vector<std::vector<double>> target = {{0.2, 0.3, 0.5}, {0.6, 0.2, 0.2}, {0.1, 0.1, 0.8}};
  std::vector<double> examination = {1.0, 0.7, 0.5};
  std::vector<double> attraction = {0.3, 0.5, 0.8};
  int hit_k = 2;

  static std::string Item(size_t slot, size_t a) {
    return "s" + std::to_string(slot) + "i" + std::to_string(a);
  }
  static size_t Draw(const std::vector<double>& p, base::Rng* rng) {
    double u = rng->UniformDouble();
    for (size_t a = 0; a < p.size(); ++a) {
      if (u < p[a])
        return a;
      u -= p[a];
    }
    return p.size() - 1;
  }
  double ClickRate(size_t slot) const {
    double c = 0;
    for (size_t a = 0; a < 3; ++a)
      c += target[slot][a] * examination[slot] * attraction[a];
    return c;
  }
  // reward, clicks, ctr, hit of the target policy.
  std::array<double, kOpeValues> Truth() const {
    double clicks = 0;
    double no_click = 1;
    double no_hit = 1;
    for (size_t j = 0; j < 3; ++j) {
      clicks += ClickRate(j);
      no_click *= 1 - ClickRate(j);
      if (j < static_cast<size_t>(hit_k))
        no_hit *= 1 - ClickRate(j);
    }
    return {clicks * 1.6, clicks, 1 - no_click, 1 - no_hit};
  }
  OpeData Generate(size_t lists, uint64_t seed) const {
    base::Rng rng(seed);
    OpeData data;
    data.targets = {"target"};
    for (size_t i = 0; i < lists; ++i) {
      OpeList list;
      OpeTargetView view;
      for (size_t j = 0; j < 3; ++j) {
        const size_t a = Draw(logging[j], &rng);
        OpeSlot slot{Item(j, a), static_cast<uint32_t>(j), logging[j][a], logging[j][a], 0, false};
        slot.clicked = rng.Bernoulli(examination[j] * attraction[a]);
        slot.reward = slot.clicked ? (rng.Bernoulli(0.3) ? 3.0 : 1.0) : 0.0;
        list.slots.push_back(slot);
        view.marginal.push_back(target[j][a]);
        view.step.push_back(target[j][a]);
        view.list.push_back(Item(j, Draw(target[j], &rng)));
      }
      list.targets.push_back(std::move(view));
      data.lists.push_back(std::move(list));
    }
    return data;
  }
};

OpeOptions Uncapped(int hit_k) {
  OpeOptions options;
  options.weight_cap = 1e12;
  options.hit_k = hit_k;
  return options;
}

TEST(OpeTest, UnbiasedOnToyProblemOverSeeds) {
  const Toy toy;
  const auto truth = toy.Truth();
  const OpeOptions options = Uncapped(toy.hit_k);
  struct Check {
    std::string estimator;
    size_t value;
  };
  const std::vector<Check> checks = {{"ips", 0},   {"ips", 1}, {"ips", 2}, {"ips", 3}, {"ipips", 0},
                                     {"ipips", 1}, {"dr", 0},  {"dr", 1},  {"pi", 0},  {"pi", 1}};
  // dr must stay unbiased with a wrong reward model: shrunk so hard towards the mean rate that
  // dm is far off (checked below).
  OpeOptions wrong_model = options;
  wrong_model.prior_lists = 1e7;
  std::vector<double> sum(checks.size() + 3, 0.0);
  std::vector<double> squares(checks.size() + 3, 0.0);
  constexpr int kSeeds = 300;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    const OpeData data = toy.Generate(200, seed);
    const OpeReport report = EstimateOpe(data, options);
    const OpeReport wrong = EstimateOpe(data, wrong_model);
    std::vector<double> v;
    for (const Check& c : checks)
      v.push_back(Find(report, c.estimator).values[c.value].value);
    v.push_back(Find(wrong, "dr").values[0].value);
    v.push_back(Find(wrong, "dr").values[1].value);
    v.push_back(Find(wrong, "dm").values[0].value);
    for (size_t c = 0; c < v.size(); ++c) {
      sum[c] += v[c];
      squares[c] += v[c] * v[c];
    }
  }
  for (size_t c = checks.size(); c < sum.size(); ++c) {
    const double mean = sum[c] / kSeeds;
    const double se = std::sqrt((squares[c] / kSeeds - mean * mean) / kSeeds);
    const size_t value = c == checks.size() + 1 ? 1 : 0;
    if (c + 1 < sum.size()) {
      EXPECT_NEAR(mean, truth[value], 4 * se) << "dr with a wrong model, value " << value;
    } else {
      EXPECT_GT(std::fabs(mean - truth[0]), 10 * se) << "the wrong model is not wrong";
    }
  }
  for (size_t c = 0; c < checks.size(); ++c) {
    const double mean = sum[c] / kSeeds;
    const double sd = std::sqrt(squares[c] / kSeeds - mean * mean);
    const double se = sd / std::sqrt(static_cast<double>(kSeeds));
    EXPECT_NEAR(mean, truth[checks[c].value], 4 * se)
        << checks[c].estimator << " " << kOpeValueNames[checks[c].value] << " se " << se;
  }
}

TEST(OpeTest, IntervalsCoverTheTruthOnToy) {
  const Toy toy;
  const auto truth = toy.Truth();
  const OpeOptions options = Uncapped(toy.hit_k);
  const std::vector<std::string> names = {"ips", "snips", "ipips", "snipips", "dr", "pi"};
  std::vector<int> covered(names.size(), 0);
  constexpr int kSeeds = 100;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    const OpeReport report = EstimateOpe(toy.Generate(1000, 1000 + seed), options);
    for (size_t e = 0; e < names.size(); ++e) {
      const OpeEstimate& r = Find(report, names[e]).values[0];
      if (r.low <= truth[0] && truth[0] <= r.high)
        ++covered[e];
    }
  }
  for (size_t e = 0; e < names.size(); ++e) {
    EXPECT_GE(covered[e], 90) << names[e];
  }
}

TEST(OpeTest, SnipsAndDirectMethodConvergeOnLargeSample) {
  const Toy toy;
  const auto truth = toy.Truth();
  const OpeReport report = EstimateOpe(toy.Generate(40000, 7), Uncapped(toy.hit_k));
  for (size_t v = 0; v < kOpeValues; ++v) {
    EXPECT_NEAR(Find(report, "snips").values[v].value, truth[v], 0.03 * truth[v])
        << kOpeValueNames[v];
  }
  for (size_t v = 0; v < 2; ++v) {  // consistent: its O(1/n) bias is gone at 40k lists
    EXPECT_NEAR(Find(report, "snipips").values[v].value, truth[v], 0.03 * truth[v])
        << kOpeValueNames[v];
  }
  // The reward model is well specified here (examination x attraction); its smoothing is the
  // only bias.
  EXPECT_NEAR(Find(report, "dm").values[0].value, truth[0], 0.05 * truth[0]);
  EXPECT_NEAR(Find(report, "dm").values[1].value, truth[1], 0.05 * truth[1]);
  // The logging policy's own value is the plain mean and differs from the target's.
  EXPECT_EQ(report.logged.lists, 40000u);
  EXPECT_GT(std::fabs(report.logged.values[0].value - truth[0]), 0.1);
}

// Two lists of two slots, computed by hand.
OpeData HandCase() {
  OpeData data;
  data.targets = {"t"};
  OpeList a;
  a.slots = {{"x", 0, 0.5, 0.5, 1.0, true}, {"y", 1, 0.5, 1.0, 0.0, false}};
  a.targets = {{{1.0, 0.25}, {1.0, 0.5}, {"x", "y"}}};
  OpeList b;
  b.slots = {{"y", 0, 0.5, 0.5, 0.0, false}, {"x", 1, 0.5, 1.0, 2.0, true}};
  b.targets = {{{0.0, 0.75}, {0.0, 0.5}, {"x", "y"}}};
  data.lists = {a, b};
  return data;
}

TEST(OpeTest, HandComputedValues) {
  OpeOptions options;
  options.hit_k = 1;
  const OpeReport report = EstimateOpe(HandCase(), options);
  EXPECT_EQ(report.lists, 2u);
  EXPECT_DOUBLE_EQ(report.logged.values[0].value, 1.5);
  EXPECT_DOUBLE_EQ(report.logged.values[1].value, 1.0);
  EXPECT_DOUBLE_EQ(report.logged.values[2].value, 1.0);
  EXPECT_DOUBLE_EQ(report.logged.values[3].value, 0.5);
  // List weights: a (1/0.5)(0.5/1) = 1, b 0.
  const OpeEstimatorResult& ips = Find(report, "ips");
  EXPECT_DOUBLE_EQ(ips.values[0].value, 0.5);
  EXPECT_DOUBLE_EQ(ips.values[0].std_error, 0.5);  // x = (1, 0): sd sqrt(0.5), n 2
  EXPECT_NEAR(ips.values[0].low, 0.5 - 1.96 * 0.5, 1e-3);
  EXPECT_DOUBLE_EQ(ips.values[2].value, 0.5);
  EXPECT_DOUBLE_EQ(ips.ess, 1.0);
  EXPECT_DOUBLE_EQ(Find(report, "snips").values[0].value, 1.0);
  // Slot weights: a (2, 0.5), b (0, 1.5).
  const OpeEstimatorResult& ipips = Find(report, "ipips");
  EXPECT_DOUBLE_EQ(ipips.values[0].value, (2.0 + 3.0) / 2);
  EXPECT_DOUBLE_EQ(ipips.values[1].value, (2.0 + 1.5) / 2);
  EXPECT_TRUE(std::isnan(ipips.values[2].value));  // ctr is not additive
  // Pseudo-inverse: a 1 * (2.5 - 2 + 1), b 2 * (1.5 - 2 + 1).
  EXPECT_DOUBLE_EQ(Find(report, "pi").values[0].value, (1.5 + 1.0) / 2);
  EXPECT_EQ(ipips.skipped, 0u);
  EXPECT_DOUBLE_EQ(ipips.capped_share, 0.0);
  // Self-normalised per position: position 0 (2*1 + 0*0) / (2 + 0) = 1, position 1
  // (0.5*0 + 1.5*2) / (0.5 + 1.5) = 1.5; clicks 2*1/2 + 1.5*1/2.
  const OpeEstimatorResult& snipips = Find(report, "snipips");
  EXPECT_DOUBLE_EQ(snipips.values[0].value, 2.5);
  EXPECT_DOUBLE_EQ(snipips.values[1].value, 1.75);
  EXPECT_TRUE(std::isnan(snipips.values[2].value));
  EXPECT_EQ(snipips.lists, 2u);
}

TEST(OpeTest, DirectMethodAndDoublyRobustClosedForm) {
  // One fold (no cross-fitting), no smoothing: item x earns 1 at position 0 in every list.
  OpeData data;
  data.targets = {"same", "unseen"};
  for (int i = 0; i < 4; ++i) {
    OpeList list;
    list.slots = {{"x", 0, 0.5, 0.5, 1.0, true}};
    list.targets = {{{0.5}, {0.5}, {"x"}}, {{0.0}, {0.0}, {"z"}}};
    data.lists.push_back(list);
  }
  OpeOptions options;
  options.folds = 1;
  options.prior_lists = 0;
  const OpeReport report = EstimateOpe(data, options);
  EXPECT_DOUBLE_EQ(Find(report, "dm", 0).values[0].value, 1.0);
  EXPECT_DOUBLE_EQ(Find(report, "dr", 0).values[0].value, 1.0);  // residuals 0
  EXPECT_DOUBLE_EQ(Find(report, "dm", 0).values[2].value, 1.0);  // click model: 1
  // An item never logged gets the mean rate (1 here); dr's correction is 0 (weight 0).
  EXPECT_DOUBLE_EQ(Find(report, "dm", 1).values[0].value, 1.0);
  EXPECT_DOUBLE_EQ(Find(report, "dr", 1).values[0].value, 1.0);
  EXPECT_DOUBLE_EQ(Find(report, "ips", 1).values[0].value, 0.0);
}

TEST(OpeTest, WeightsAreCappedAndCounted) {
  OpeData data;
  data.targets = {"t"};
  OpeList list;
  list.slots = {{"x", 0, 0.025, 0.025, 1.0, true}};
  list.targets = {{{1.0}, {1.0}, {"x"}}};
  data.lists = {list, list};
  OpeOptions options;
  options.weight_cap = 20;
  const OpeReport report = EstimateOpe(data, options);
  EXPECT_DOUBLE_EQ(Find(report, "ips").values[0].value, 20.0);  // 40 capped
  EXPECT_DOUBLE_EQ(Find(report, "ips").capped_share, 1.0);
  EXPECT_DOUBLE_EQ(Find(report, "ipips").values[0].value, 20.0);
  EXPECT_DOUBLE_EQ(Find(report, "ipips").capped_share, 1.0);
}

TEST(OpeTest, NoListsGiveNoValues) {
  OpeData data;
  data.targets = {"t"};
  const OpeReport report = EstimateOpe(data, OpeOptions{});
  EXPECT_EQ(report.lists, 0u);
  EXPECT_TRUE(std::isnan(report.logged.values[0].value));
  ASSERT_EQ(report.targets.size(), 1u);
  for (const OpeEstimatorResult& e : report.targets[0].estimators) {
    EXPECT_EQ(e.lists, 0u) << e.name;
    EXPECT_TRUE(std::isnan(e.values[0].value)) << e.name;
  }
}

TEST(OpeTest, UnusableProbabilitiesAreSkippedAndCounted) {
  OpeData data;
  data.targets = {"t"};
  OpeList good;
  good.slots = {{"x", 0, 0.5, 0.5, 1.0, true}};
  good.targets = {{{0.5}, {0.5}, {"x"}}};
  OpeList zero = good;
  zero.slots[0].propensity = 0;
  zero.slots[0].step = 0;
  OpeList unknown = good;
  unknown.slots[0].propensity = kNaN;
  unknown.slots[0].step = kNaN;
  OpeList target_nan = good;
  target_nan.targets[0].marginal = {kNaN};
  target_nan.targets[0].step = {kNaN};
  OpeList no_view = good;
  no_view.targets.clear();
  OpeList bad_reward = good;
  bad_reward.slots[0].reward = kNaN;
  data.lists = {good, zero, unknown, target_nan, no_view, bad_reward};
  const OpeReport report = EstimateOpe(data, OpeOptions{});
  EXPECT_EQ(report.invalid, 1u);
  EXPECT_EQ(report.logged.lists, 5u);
  for (const char* name : {"ips", "snips", "ipips", "snipips", "dr", "pi"}) {
    EXPECT_EQ(Find(report, name).lists, 1u) << name;
    EXPECT_EQ(Find(report, name).skipped, 4u) << name;
    EXPECT_DOUBLE_EQ(Find(report, name).values[0].value, 1.0) << name;
  }
  EXPECT_EQ(Find(report, "dm").lists, 4u);
  EXPECT_EQ(Find(report, "dm").skipped, 1u);
}

TEST(OpeTest, RewardModelSeparatesPositionFromItem) {
  // Items a and b appear at both positions; position 1 is examined half as often.
  std::vector<RewardObservation> obs;
  for (int i = 0; i < 100; ++i) {
    obs.push_back({0, 0, 0.8});
    obs.push_back({1, 1, 0.2});
    obs.push_back({1, 0, 0.4});
    obs.push_back({0, 1, 0.4});
  }
  PositionItemModel model;
  model.Fit(obs, 2, /*prior=*/0, /*iterations=*/20);
  EXPECT_NEAR(model.examination()[1], 0.5, 1e-6);
  EXPECT_NEAR(model.Predict(0, 0), 0.8, 1e-6);
  EXPECT_NEAR(model.Predict(1, 1), 0.2, 1e-6);
  EXPECT_NEAR(model.Predict(0, 5), 0.4, 1e-6);  // beyond: the last position's examination
}

}  // namespace
}  // namespace flywheel::eval
