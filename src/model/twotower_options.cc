// TwoTowerOptions: the parameter table (parsing "--param twotower.KEY=VALUE", validation,
// params(), help and doc/params.md).
#include "model/twotower.h"

namespace flywheel::model {

// Numeric parameters first, in the order params() has always listed them, then loss and
// optimizer.
const ParamTable<TwoTowerOptions>& TwoTowerParamTable() {
  using embedding::OptimizerKind;
  using O = TwoTowerOptions;
  static const ParamTable<O> kTable =
      ParamTable<O>("twotower")
          .Int("dim", &O::dim, 1, 4096,
               "factor dimension: more = finer taste, slower steps and scoring")
          .Double("lr", &O::lr, 1e-30, 1e30, "learning rate (its scale depends on the optimizer)")
          .Double("lr_decay", &O::lr_decay, 0, 1e6,
                  "lr_t = lr / sqrt(1 + lr_decay * t), t = steps so far; 0 keeps lr constant")
          .Double("l2", &O::l2, 0, 1e6,
                  "L2 on the rows a step touches (user, candidates, their features)")
          .Double("init_std", &O::init_std, 0, 1e3, "new rows ~ normal(0, init_std)")
          .Double("clip", &O::clip, 0, 1e30, "> 0: clip each row gradient to this L2 norm")
          .Int("negatives", &O::negatives, 1, 1000,
               "sampled negatives per positive: more = sharper ranking, cost O(negatives x dim) "
               "per step")
          .Bool("popularity_sampling", &O::popularity_sampling,
                "1: negatives from the reservoir (~ popularity) with log-q correction; 0: "
                "uniform")
          .Int("history", &O::history, 0, 1000, "recent positives pooled into the user tower")
          .Double("half_life_hours", &O::half_life_hours, 1e-6, 1e9, "time decay of the pooling")
          .Double("history_decay", &O::history_decay, 0, 1,
                  "position decay of the pooling: small = the last items dominate (session "
                  "signal)")
          .Bool("content", &O::content,
                "0: no content features (an id-only ablation; content-only items are then "
                "unknown)")
          .Int("max_tags", &O::max_tags, 0, 1000, "tags and title tokens used per item")
          .Int("replay", &O::replay, 0, 100, "reservoir replays per positive `Observe`")
          .Int("reservoir", &O::reservoir, 1, 1e8,
               "replay reservoir capacity (also the popularity proposal)")
          .Int("epochs", &O::epochs, 0, 1000, "passes of `Fit`")
          .Int("threads", &O::threads, 1, 64, "`Fit` threads: 1 deterministic, > 1 Hogwild")
          .Int("seed", &O::seed, 0, 1e15, "seeds rows, sampling, reservoir and shuffling")
          .Choice("loss", &O::loss,
                  {{"bpr", TwoTowerLoss::kBpr}, {"softmax", TwoTowerLoss::kSoftmax}},
                  "`softmax` (sampled softmax) or `bpr`")
          .Choice("optimizer", &O::optimizer,
                  {{"sgd", OptimizerKind::kSgd},
                   {"adagrad", OptimizerKind::kAdagrad},
                   {"adam", OptimizerKind::kAdam}},
                  "row optimizer");
  return kTable;
}

Status ValidateTwoTowerOptions(const TwoTowerOptions& o) {
  return TwoTowerParamTable().Validate(o);
}

KeyValues TwoTower::params() const {
  return TwoTowerParamTable().Values(options_);
}

}  // namespace flywheel::model
