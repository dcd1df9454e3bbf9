#include "eval/ope.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include "base/random.h"
#include "eval/ope_reward_model.h"

namespace flywheel::eval {
namespace {

using Values = std::array<double, kOpeValues>;
constexpr size_t kReward = 0;
constexpr size_t kClicks = 1;
constexpr size_t kCtr = 2;
constexpr size_t kHit = 3;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Slot {
  uint32_t item = 0;
  uint32_t position = 0;
  double reward = 0;
  double click = 0;
};

// The logged lists with interned items, their values and cross-fitting folds.
struct Prepared {
  std::vector<std::vector<Slot>> slots;
  std::vector<Values> values;
  std::vector<char> valid;
  std::vector<int> fold;
  std::unordered_map<std::string_view, uint32_t> ids;
  size_t invalid = 0;

  uint32_t Intern(const std::string& item) {
    auto [it, inserted] = ids.emplace(item, static_cast<uint32_t>(ids.size()));
    return it->second;
  }
};

const OpeTargetView* ViewOf(const OpeList& list, size_t t) {
  return t < list.targets.size() ? &list.targets[t] : nullptr;
}

bool FiniteProbability(double p) {
  return std::isfinite(p) && p >= 0 && p <= 1 + 1e-9;
}
bool PositiveProbability(double p) {
  return FiniteProbability(p) && p > 0;
}

Values ListValues(const OpeList& list, int hit_k) {
  Values v = {0, 0, 0, 0};
  for (const OpeSlot& s : list.slots) {
    v[kReward] += s.reward;
    if (!s.clicked) {
      continue;
    }
    v[kClicks] += 1;
    v[kCtr] = 1;
    if (s.position < static_cast<uint32_t>(std::max(hit_k, 0))) {
      v[kHit] = 1;
    }
  }
  return v;
}

Prepared Prepare(const OpeData& data, const OpeOptions& options) {
  Prepared p;
  const size_t n = data.lists.size();
  p.slots.resize(n);
  p.values.resize(n);
  p.valid.assign(n, 1);
  p.fold.assign(n, 0);
  const int folds = std::max(options.folds, 1);
  for (size_t i = 0; i < n; ++i) {
    const OpeList& list = data.lists[i];
    p.fold[i] = static_cast<int>(base::Mix64(i) % static_cast<uint64_t>(folds));
    for (const OpeSlot& s : list.slots) {
      if (!std::isfinite(s.reward)) {
        p.valid[i] = 0;
      }
      p.slots[i].push_back({p.Intern(s.item), s.position, s.reward, s.clicked ? 1.0 : 0.0});
    }
    p.values[i] = ListValues(list, options.hit_k);
    if (p.valid[i] == 0) {
      ++p.invalid;
    }
  }
  for (const OpeList& list : data.lists) {
    for (const OpeTargetView& view : list.targets) {
      for (const std::string& item : view.list) {
        p.Intern(item);
      }
    }
  }
  return p;
}

// The reward and click models, one pair per fold, each fitted on the other folds' lists.
struct RewardModels {
  std::vector<PositionItemModel> reward;
  std::vector<PositionItemModel> click;
};

RewardModels FitModels(const Prepared& p, const OpeOptions& options) {
  const int folds = std::max(options.folds, 1);
  RewardModels models;
  models.reward.resize(static_cast<size_t>(folds));
  models.click.resize(static_cast<size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    std::vector<RewardObservation> rewards;
    std::vector<RewardObservation> clicks;
    for (size_t i = 0; i < p.slots.size(); ++i) {
      // One fold: fit on everything (no cross-fitting).
      if (p.valid[i] == 0 || (folds > 1 && p.fold[i] == f)) {
        continue;
      }
      for (const Slot& s : p.slots[i]) {
        rewards.push_back({s.item, s.position, s.reward});
        clicks.push_back({s.item, s.position, s.click});
      }
    }
    models.reward[static_cast<size_t>(f)].Fit(rewards, p.ids.size(), options.prior_lists);
    models.click[static_cast<size_t>(f)].Fit(clicks, p.ids.size(), options.prior_lists);
  }
  return models;
}

// Per-list contributions of one estimator and one value; summarised into an interval.
OpeEstimate MeanEstimate(const std::vector<double>& x, double z) {
  OpeEstimate e;
  if (x.empty()) {
    return e;
  }
  double sum = 0;
  for (double v : x) {
    sum += v;
  }
  const double n = static_cast<double>(x.size());
  e.value = sum / n;
  double squares = 0;
  for (double v : x) {
    squares += (v - e.value) * (v - e.value);
  }
  e.std_error = x.size() > 1 ? std::sqrt(squares / (n - 1) / n) : kNaN;
  e.low = e.value - z * e.std_error;
  e.high = e.value + z * e.std_error;
  return e;
}

double Ess(const std::vector<double>& weights, double scale) {
  double sum = 0;
  double squares = 0;
  for (double w : weights) {
    sum += std::fabs(w);
    squares += w * w;
  }
  return squares > 0 ? sum * sum / squares * scale : 0.0;
}

double Cap(double w, double cap, size_t* capped) {
  if (w > cap) {
    ++*capped;
    return cap;
  }
  return w;
}

struct Contributions {
  std::array<std::vector<double>, kOpeValues> x;
  std::vector<double> weights;
  size_t capped = 0;
  size_t skipped = 0;
};

OpeEstimatorResult Summarise(const std::string& name, const Contributions& c,
                             const std::array<bool, kOpeValues>& defined, double ess,
                             const OpeOptions& options) {
  OpeEstimatorResult r;
  r.name = name;
  for (size_t v = 0; v < kOpeValues; ++v) {
    if (defined[v]) {
      r.values[v] = MeanEstimate(c.x[v], options.z);
    }
  }
  r.lists = c.x[0].size();
  r.skipped = c.skipped;
  r.ess = ess;
  r.capped_share = c.weights.empty()
                       ? 0.0
                       : static_cast<double>(c.capped) / static_cast<double>(c.weights.size());
  return r;
}

// List-level weights (product of steps): ips and snips.
std::vector<OpeEstimatorResult> ListLevel(const OpeData& data, const Prepared& p, size_t t,
                                          const OpeOptions& options) {
  Contributions c;
  std::vector<Values> kept;
  for (size_t i = 0; i < data.lists.size(); ++i) {
    if (p.valid[i] == 0) {
      continue;
    }
    const OpeList& list = data.lists[i];
    const OpeTargetView* view = ViewOf(list, t);
    double ratio = 1;
    bool ok = view != nullptr && view->step.size() == list.slots.size();
    for (size_t s = 0; ok && s < list.slots.size(); ++s) {
      ok = PositiveProbability(list.slots[s].step) && FiniteProbability(view->step[s]);
      if (ok) {
        ratio *= view->step[s] / list.slots[s].step;
      }
    }
    if (!ok) {
      ++c.skipped;
      continue;
    }
    const double w = Cap(ratio, options.weight_cap, &c.capped);
    c.weights.push_back(w);
    kept.push_back(p.values[i]);
    for (size_t v = 0; v < kOpeValues; ++v) {
      c.x[v].push_back(w * p.values[i][v]);
    }
  }
  const std::array<bool, kOpeValues> all = {true, true, true, true};
  const double ess = Ess(c.weights, 1.0);
  OpeEstimatorResult ips = Summarise("ips", c, all, ess, options);
  OpeEstimatorResult snips = ips;
  snips.name = "snips";
  double weight_sum = 0;
  for (double w : c.weights) {
    weight_sum += w;
  }
  const double n = static_cast<double>(c.weights.size());
  for (size_t v = 0; v < kOpeValues; ++v) {
    OpeEstimate& e = snips.values[v];
    if (weight_sum <= 0) {
      e = OpeEstimate{};
      continue;
    }
    double numerator = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      numerator += c.weights[i] * kept[i][v];
    }
    e.value = numerator / weight_sum;
    // Delta method: the influence of list i is w_i (v_i - V) / mean(w).
    const double mean_w = weight_sum / n;
    double squares = 0;
    for (size_t i = 0; i < kept.size(); ++i) {
      const double u = c.weights[i] * (kept[i][v] - e.value) / mean_w;
      squares += u * u;
    }
    e.std_error = n > 1 ? std::sqrt(squares / (n - 1) / n) : kNaN;
    e.low = e.value - options.z * e.std_error;
    e.high = e.value + options.z * e.std_error;
  }
  return {ips, snips};
}

// The direct method's per-list values for target t (list i): the reward model over the
// target's own list; NaN-free.
Values DirectValues(const Prepared& p, const RewardModels& m, const OpeTargetView& view, int fold,
                    const OpeOptions& options) {
  Values v = {0, 0, 0, 0};
  double no_click = 1;
  double no_hit = 1;
  const auto f = static_cast<size_t>(fold);
  for (size_t pos = 0; pos < view.list.size(); ++pos) {
    const uint32_t item = p.ids.at(view.list[pos]);
    const auto position = static_cast<uint32_t>(pos);
    v[kReward] += m.reward[f].Predict(item, position);
    const double c = std::clamp(m.click[f].Predict(item, position), 0.0, 1.0);
    v[kClicks] += c;
    no_click *= 1 - c;
    if (pos < static_cast<size_t>(std::max(options.hit_k, 0))) {
      no_hit *= 1 - c;
    }
  }
  v[kCtr] = 1 - no_click;
  v[kHit] = 1 - no_hit;
  return v;
}

// Item-position weights of list i for target t, capped; false when a probability is unusable.
bool SlotWeights(const OpeList& list, const OpeTargetView& view, const OpeOptions& options,
                 std::vector<double>* weights, size_t* capped, size_t* total) {
  weights->clear();
  if (view.marginal.size() != list.slots.size()) {
    return false;
  }
  for (size_t s = 0; s < list.slots.size(); ++s) {
    if (!PositiveProbability(list.slots[s].propensity) || !FiniteProbability(view.marginal[s])) {
      return false;
    }
    weights->push_back(view.marginal[s] / list.slots[s].propensity);
  }
  for (double& w : *weights) {
    w = Cap(w, options.weight_cap, capped);
  }
  *total += weights->size();
  return true;
}

// dm, ipips, dr and pi for target t.
std::vector<OpeEstimatorResult> SlotLevel(const OpeData& data, const Prepared& p,
                                          const RewardModels& m, size_t t,
                                          const OpeOptions& options) {
  Contributions dm;
  Contributions ipips;
  Contributions dr;
  Contributions pi;
  std::vector<double> w;
  std::vector<double> pi_weights;
  size_t slot_weights = 0;
  for (size_t i = 0; i < data.lists.size(); ++i) {
    if (p.valid[i] == 0) {
      continue;
    }
    const OpeList& list = data.lists[i];
    const OpeTargetView* view = ViewOf(list, t);
    if (view == nullptr) {
      ++dm.skipped;
      ++ipips.skipped;
      continue;
    }
    const auto f = static_cast<size_t>(p.fold[i]);
    const Values direct = DirectValues(p, m, *view, p.fold[i], options);
    for (size_t v = 0; v < kOpeValues; ++v) {
      dm.x[v].push_back(direct[v]);
    }
    if (!SlotWeights(list, *view, options, &w, &ipips.capped, &slot_weights)) {
      ++ipips.skipped;
      continue;
    }
    Values ip = {0, 0, kNaN, kNaN};
    Values residual = {0, 0, kNaN, kNaN};
    double weight_sum = 0;
    for (size_t s = 0; s < w.size(); ++s) {
      const Slot& slot = p.slots[i][s];
      ip[kReward] += w[s] * slot.reward;
      ip[kClicks] += w[s] * slot.click;
      residual[kReward] += w[s] * (slot.reward - m.reward[f].Predict(slot.item, slot.position));
      const double c = std::clamp(m.click[f].Predict(slot.item, slot.position), 0.0, 1.0);
      residual[kClicks] += w[s] * (slot.click - c);
      ipips.weights.push_back(w[s]);
      weight_sum += w[s];
    }
    const double pi_weight = weight_sum - static_cast<double>(w.size()) + 1;
    pi_weights.push_back(pi_weight);
    for (size_t v = 0; v < kOpeValues; ++v) {
      ipips.x[v].push_back(ip[v]);
      dr.x[v].push_back(direct[v] + residual[v]);
      pi.x[v].push_back(pi_weight * p.values[i][v]);
    }
  }
  const double slots_per_list = ipips.x[0].empty() ? 1.0
                                                   : static_cast<double>(slot_weights) /
                                                         static_cast<double>(ipips.x[0].size());
  const double ess = Ess(ipips.weights, 1.0 / std::max(slots_per_list, 1.0));
  const std::array<bool, kOpeValues> all = {true, true, true, true};
  const std::array<bool, kOpeValues> additive = {true, true, false, false};
  dr.skipped = ipips.skipped;
  pi.skipped = ipips.skipped;
  dr.capped = pi.capped = ipips.capped;
  dr.weights = pi.weights = ipips.weights;
  return {Summarise("dm", dm, all, static_cast<double>(dm.x[0].size()), options),
          Summarise("ipips", ipips, additive, ess, options),
          Summarise("dr", dr, additive, ess, options),
          Summarise("pi", pi, all, Ess(pi_weights, 1.0), options)};
}

// Per position: the sums of the self-normalised item-position estimator.
struct PositionSums {
  double weight = 0;
  std::array<double, 2> weighted = {0, 0};  // reward, clicks
  size_t lists = 0;
};

// The lists snipips keeps: their indices and slot weights.
struct KeptLists {
  std::vector<size_t> index;
  std::vector<std::vector<double>> weights;
};

// snipips' value v (0 reward, 1 clicks) and its delta-method interval.
OpeEstimate SelfNormalisedValue(const Prepared& p, const std::vector<PositionSums>& at,
                                const KeptLists& kept, size_t v, double z) {
  OpeEstimate e;
  const double n = static_cast<double>(kept.index.size());
  std::vector<double> ratio(at.size(), 0.0);
  e.value = 0;
  for (size_t q = 0; q < at.size(); ++q) {
    if (at[q].weight > 0) {
      ratio[q] = at[q].weighted[v] / at[q].weight;
      e.value += static_cast<double>(at[q].lists) / n * ratio[q];
    }
  }
  std::vector<double> influence;
  for (size_t k = 0; k < kept.index.size(); ++k) {
    double u = 0;
    for (size_t s = 0; s < kept.weights[k].size(); ++s) {
      const Slot& slot = p.slots[kept.index[k]][s];
      const PositionSums& pos = at[slot.position];
      const double value = v == 0 ? slot.reward : slot.click;
      if (pos.weight > 0) {
        u += kept.weights[k][s] * (value - ratio[slot.position]) /
             (pos.weight / static_cast<double>(pos.lists));
      }
    }
    influence.push_back(u);
  }
  e.std_error = MeanEstimate(influence, z).std_error;
  e.low = e.value - z * e.std_error;
  e.high = e.value + z * e.std_error;
  return e;
}

// Self-normalised item-position IPS (snipips): per position p, sum_i w_ip v_ip / sum_i w_ip over
// the lists with a slot at p, weighted by the share of lists that have it, summed over p.
// Interval: delta method, list i's influence sum_p w_ip (v_ip - R_p) / mean_i(w_ip).
OpeEstimatorResult SelfNormalisedSlots(const OpeData& data, const Prepared& p, size_t t,
                                       const OpeOptions& options) {
  std::vector<PositionSums> at;
  KeptLists kept;
  Contributions c;
  std::vector<double> w;
  size_t slot_weights = 0;
  for (size_t i = 0; i < data.lists.size(); ++i) {
    if (p.valid[i] == 0) {
      continue;
    }
    const OpeTargetView* view = ViewOf(data.lists[i], t);
    if (view == nullptr ||
        !SlotWeights(data.lists[i], *view, options, &w, &c.capped, &slot_weights)) {
      ++c.skipped;
      continue;
    }
    for (size_t s = 0; s < w.size(); ++s) {
      const Slot& slot = p.slots[i][s];
      if (slot.position >= at.size()) {
        at.resize(slot.position + 1);
      }
      PositionSums& pos = at[slot.position];
      pos.weight += w[s];
      pos.weighted[0] += w[s] * slot.reward;
      pos.weighted[1] += w[s] * slot.click;
      ++pos.lists;
      c.weights.push_back(w[s]);
    }
    kept.index.push_back(i);
    kept.weights.push_back(w);
  }
  OpeEstimatorResult r;
  r.name = "snipips";
  r.lists = kept.index.size();
  r.skipped = c.skipped;
  r.capped_share = c.weights.empty()
                       ? 0.0
                       : static_cast<double>(c.capped) / static_cast<double>(c.weights.size());
  const double n = static_cast<double>(r.lists);
  r.ess = Ess(c.weights, n > 0 ? n / static_cast<double>(slot_weights) : 1.0);
  for (size_t v = 0; v < 2 && r.lists > 0; ++v) {  // kReward, kClicks: the additive values
    r.values[v] = SelfNormalisedValue(p, at, kept, v, options.z);
  }
  return r;
}

}  // namespace

OpeReport EstimateOpe(const OpeData& data, const OpeOptions& options) {
  OpeReport report;
  report.lists = data.lists.size();
  const Prepared p = Prepare(data, options);
  report.invalid = p.invalid;
  Contributions logged;
  for (size_t i = 0; i < data.lists.size(); ++i) {
    if (p.valid[i] == 0) {
      continue;
    }
    for (size_t v = 0; v < kOpeValues; ++v) {
      logged.x[v].push_back(p.values[i][v]);
    }
  }
  report.logged = Summarise("logged", logged, {true, true, true, true},
                            static_cast<double>(logged.x[0].size()), options);
  const RewardModels models = FitModels(p, options);
  for (size_t t = 0; t < data.targets.size(); ++t) {
    OpePolicyEstimates estimates;
    estimates.target = data.targets[t];
    std::vector<OpeEstimatorResult> slot = SlotLevel(data, p, models, t, options);
    std::vector<OpeEstimatorResult> list = ListLevel(data, p, t, options);
    estimates.estimators = {
        slot[0], list[0], list[1], slot[1], SelfNormalisedSlots(data, p, t, options),
        slot[2], slot[3]};
    report.targets.push_back(std::move(estimates));
  }
  return report;
}

}  // namespace flywheel::eval
