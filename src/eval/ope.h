// Off-policy estimators over logged lists (doc/loop.md, section 7): the value a target policy
// would have had on the traffic a logging policy served, from the logged lists, their logging
// probabilities and the target's probabilities of the same items at the same positions.
// Pure arithmetic over flywheel::OpeData (include/flywheel/ope.h); no engine state.
//
// Values (per list, averaged over lists): reward (sum of the slots' rewards), clicks (clicked
// slots), ctr (1 when any slot was clicked) and hit (1 when a slot at a position < hit_k was
// clicked: HR@k). Estimators:
//   dm      direct method: a position-based reward model (ope_reward_model.h), cross-fitted,
//           summed over the target's own list;
//   ips     list IPS: weight = prod target step / prod logging step, capped at weight_cap;
//   snips   list self-normalised IPS (sum w*v / sum w);
//   ipips   item-position IPS (Li et al. 2018): sum over slots of the marginal ratio times the
//           slot's value, capped per slot; additive values only (reward, clicks);
//   snipips self-normalised item-position IPS: per position, sum w*v / sum w over the lists
//           with that position, weighted by their share (the slate form of snips, which a list
//           weight cannot give once lists are long); additive values only;
//   dr      doubly robust: dm + item-position IPS of the reward model's residuals;
//   pi      pseudo-inverse (Swaminathan et al. 2017) for a logging policy whose slots are
//           independent: v * (sum_j w_j - l + 1) over the l logged slots; exact for additive
//           values, a linear approximation for ctr and hit.
// Intervals: mean +- 1.96 standard errors over lists (sample variance; the delta method for
// snips and snipips). dm's interval is the lists' sampling noise only (not the reward model's
// bias).
#pragma once
#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "flywheel/ope.h"

namespace flywheel::eval {

inline constexpr size_t kOpeValues = 4;  // reward, clicks, ctr, hit
inline constexpr std::array<const char*, kOpeValues> kOpeValueNames = {"reward", "clicks", "ctr",
                                                                       "hit"};

struct OpeOptions {
  double weight_cap = 20.0;      // importance weights above it are capped (EngineOptions::loop)
  int hit_k = 10;                // "hit": a click at a position < hit_k
  int folds = 2;                 // cross-fitting folds of the dm reward model (1: fit on all)
  double prior_lists = 10;       // reward model: an item's rate is shrunk towards the mean by this
  double z = 1.959963984540054;  // the intervals' normal quantile (95 %)
};

struct OpeEstimate {
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN: not defined or no lists
  double std_error = std::numeric_limits<double>::quiet_NaN();
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

struct OpeEstimatorResult {
  std::string name;                            // "logged", "dm", "ips", ...
  std::array<OpeEstimate, kOpeValues> values;  // by kOpeValueNames
  size_t lists = 0;                            // lists used
  size_t skipped = 0;       // lists it could not use (NaN, zero or negative probabilities)
  double ess = 0;           // effective sample size in lists: (sum w)^2 / sum w^2
  double capped_share = 0;  // share of weights that hit weight_cap
};

struct OpePolicyEstimates {
  std::string target;
  std::vector<OpeEstimatorResult> estimators;  // dm, ips, snips, ipips, snipips, dr, pi
};

struct OpeReport {
  size_t lists = 0;           // lists given
  size_t invalid = 0;         // lists with a non-finite reward (skipped by every estimator)
  OpeEstimatorResult logged;  // the logging policy's own mean (on-policy reference)
  std::vector<OpePolicyEstimates> targets;
};

// Every estimator for every target of `data`. O(lists x slots x targets).
OpeReport EstimateOpe(const OpeData& data, const OpeOptions& options);

}  // namespace flywheel::eval
