#include "model/registry.h"

#include <set>

#include "base/strings.h"
#include "model/baselines.h"
#include "model/bpr.h"
#include "model/sasrec.h"
#include "model/twotower.h"

namespace flywheel::model {
namespace {

Status CheckKeys(const std::string& model, const ModelParams& params,
                 const std::set<std::string>& allowed) {
  for (const auto& [key, value] : params) {
    if (allowed.count(key) == 0) {
      std::string list;
      for (const auto& name : allowed) {
        list += list.empty() ? "" : ", ";
        list += name;
      }
      return Status::InvalidArgument("model " + model + ": unknown parameter '" + key +
                                     "' (allowed: " + (list.empty() ? "none" : list) + ")");
    }
  }
  return Status::Ok();
}

Result<double> GetDouble(const std::string& model, const ModelParams& params,
                         const std::string& key, double fallback, double min, double max) {
  auto it = params.find(key);
  if (it == params.end()) {
    return fallback;
  }
  auto value = base::ParseDouble(it->second);
  if (!value.ok() || *value < min || *value > max) {
    return Status::InvalidArgument("model " + model + ": parameter " + key + "='" + it->second +
                                   "' must be a number in [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]");
  }
  return *value;
}

Result<std::string> GetChoice(const std::string& model, const ModelParams& params,
                              const std::string& key, const std::string& fallback,
                              const std::vector<std::string>& choices) {
  auto it = params.find(key);
  if (it == params.end()) {
    return fallback;
  }
  std::string list;
  for (const auto& choice : choices) {
    if (choice == it->second) {
      return choice;
    }
    list += (list.empty() ? "" : "|") + choice;
  }
  return Status::InvalidArgument("model " + model + ": parameter " + key + "='" + it->second +
                                 "' must be one of " + list);
}

Result<BprOptions> BprOptionsFromParams(const ModelParams& params) {
  const std::string name = "bpr";
  FLYWHEEL_RETURN_IF_ERROR(
      CheckKeys(name, params,
                {"dim", "optimizer", "lr", "l2", "lr_decay", "init_std", "clip", "negatives",
                 "sampling", "recent_window", "replay", "reservoir", "epochs", "seed", "loss",
                 "context", "user_rows", "threads"}));
  BprOptions o;
  auto get = [&](const std::string& key, double fallback, double min, double max) {
    return GetDouble(name, params, key, fallback, min, max);
  };
  FLYWHEEL_ASSIGN_OR_RETURN(double dim, get("dim", o.dim, 1, 4096));
  FLYWHEEL_ASSIGN_OR_RETURN(double lr, get("lr", o.lr, 1e-30, 1e30));
  FLYWHEEL_ASSIGN_OR_RETURN(double l2, get("l2", o.l2, 0, 1e6));
  FLYWHEEL_ASSIGN_OR_RETURN(double lr_decay, get("lr_decay", o.lr_decay, 0, 1e6));
  FLYWHEEL_ASSIGN_OR_RETURN(double init_std, get("init_std", o.init_std, 0, 1e3));
  FLYWHEEL_ASSIGN_OR_RETURN(double clip, get("clip", o.clip, 0, 1e30));
  FLYWHEEL_ASSIGN_OR_RETURN(double negatives, get("negatives", o.negatives, 1, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(double window, get("recent_window", o.recent_window, 1, 1e8));
  FLYWHEEL_ASSIGN_OR_RETURN(double replay, get("replay", o.replay, 0, 100));
  FLYWHEEL_ASSIGN_OR_RETURN(double reservoir, get("reservoir", o.reservoir, 1, 1e8));
  FLYWHEEL_ASSIGN_OR_RETURN(double epochs, get("epochs", o.epochs, 0, 1000));
  FLYWHEEL_ASSIGN_OR_RETURN(double seed, get("seed", static_cast<double>(o.seed), 0, 1e15));
  FLYWHEEL_ASSIGN_OR_RETURN(double context, get("context", o.context, 0, kBprMaxContext));
  FLYWHEEL_ASSIGN_OR_RETURN(double user_rows, get("user_rows", o.user_rows ? 1 : 0, 0, 1));
  FLYWHEEL_ASSIGN_OR_RETURN(double threads, get("threads", o.threads, 1, 64));
  FLYWHEEL_ASSIGN_OR_RETURN(std::string optimizer, GetChoice(name, params, "optimizer", "adagrad",
                                                             {"sgd", "adagrad", "adam"}));
  FLYWHEEL_ASSIGN_OR_RETURN(std::string sampling, GetChoice(name, params, "sampling", "uniform",
                                                            {"uniform", "popularity", "recent"}));
  FLYWHEEL_ASSIGN_OR_RETURN(std::string loss,
                            GetChoice(name, params, "loss", "bpr", {"bpr", "mse"}));
  FLYWHEEL_ASSIGN_OR_RETURN(o.optimizer, embedding::ParseOptimizerKind(optimizer));
  o.dim = static_cast<uint32_t>(dim);
  o.lr = static_cast<float>(lr);
  o.l2 = static_cast<float>(l2);
  o.lr_decay = static_cast<float>(lr_decay);
  o.init_std = static_cast<float>(init_std);
  o.clip = static_cast<float>(clip);
  o.negatives = static_cast<int>(negatives);
  o.recent_window = static_cast<int>(window);
  o.replay = static_cast<int>(replay);
  o.reservoir = static_cast<int>(reservoir);
  o.epochs = static_cast<int>(epochs);
  o.seed = static_cast<uint64_t>(seed);
  o.context = static_cast<int>(context);
  o.user_rows = user_rows != 0;
  o.threads = static_cast<int>(threads);
  o.sampling = sampling == "popularity" ? BprSampling::kPopularity
               : sampling == "recent"   ? BprSampling::kRecent
                                        : BprSampling::kUniform;
  o.loss = loss == "mse" ? BprLoss::kMse : BprLoss::kBpr;
  return o;
}

Result<SasrecOptions> SasrecOptionsFromParams(const ModelParams& params) {
  const std::string name = "sasrec";
  FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params,
                                     {"dim",
                                      "heads",
                                      "blocks",
                                      "max_len",
                                      "dropout",
                                      "act",
                                      "loss",
                                      "negatives",
                                      "lr",
                                      "l2",
                                      "init_std",
                                      "batch",
                                      "epochs",
                                      "patience",
                                      "valid_users",
                                      "max_chunks",
                                      "threads",
                                      "online_lr",
                                      "replay",
                                      "reservoir",
                                      "seed",
                                      "content",
                                      "feature_buckets",
                                      "online_dropout",
                                      "online_all",
                                      "online_optimizer",
                                      "online_items_only",
                                      "online_anchor",
                                      "scratch_lr"}));
  SasrecOptions o;
  auto get = [&](const std::string& key, double fallback, double min, double max) {
    return GetDouble(name, params, key, fallback, min, max);
  };
  auto get_int = [&](const std::string& key, int* field, double min, double max) -> Status {
    FLYWHEEL_ASSIGN_OR_RETURN(double v, get(key, *field, min, max));
    *field = static_cast<int>(v);
    return Status::Ok();
  };
  auto get_float = [&](const std::string& key, float* field, double min, double max) -> Status {
    FLYWHEEL_ASSIGN_OR_RETURN(double v, get(key, *field, min, max));
    *field = static_cast<float>(v);
    return Status::Ok();
  };
  FLYWHEEL_RETURN_IF_ERROR(get_int("dim", &o.dim, 1, 1024));
  FLYWHEEL_RETURN_IF_ERROR(get_int("heads", &o.heads, 1, 64));
  FLYWHEEL_RETURN_IF_ERROR(get_int("blocks", &o.blocks, 0, 16));
  FLYWHEEL_RETURN_IF_ERROR(get_int("max_len", &o.max_len, 1, 1024));
  FLYWHEEL_RETURN_IF_ERROR(get_float("dropout", &o.dropout, 0, 0.99));
  FLYWHEEL_RETURN_IF_ERROR(get_int("negatives", &o.negatives, 1, 100000));
  FLYWHEEL_RETURN_IF_ERROR(get_float("lr", &o.lr, 1e-9, 10));
  FLYWHEEL_RETURN_IF_ERROR(get_float("l2", &o.l2, 0, 10));
  FLYWHEEL_RETURN_IF_ERROR(get_float("init_std", &o.init_std, 1e-6, 10));
  FLYWHEEL_RETURN_IF_ERROR(get_int("batch", &o.batch, 1, 100000));
  FLYWHEEL_RETURN_IF_ERROR(get_int("epochs", &o.epochs, 0, 100000));
  FLYWHEEL_RETURN_IF_ERROR(get_int("patience", &o.patience, 1, 1000));
  FLYWHEEL_RETURN_IF_ERROR(get_int("valid_users", &o.valid_users, 0, 1e8));
  FLYWHEEL_RETURN_IF_ERROR(get_int("max_chunks", &o.max_chunks, 0, 1e6));
  FLYWHEEL_RETURN_IF_ERROR(get_int("threads", &o.threads, 1, 64));
  FLYWHEEL_RETURN_IF_ERROR(get_float("online_lr", &o.online_lr, 0, 10));
  FLYWHEEL_RETURN_IF_ERROR(get_float("scratch_lr", &o.scratch_lr, 0, 10));
  FLYWHEEL_RETURN_IF_ERROR(get_int("replay", &o.replay, 0, 1000));
  FLYWHEEL_RETURN_IF_ERROR(get_int("reservoir", &o.reservoir, 1, 1e7));
  FLYWHEEL_RETURN_IF_ERROR(get_int("feature_buckets", &o.feature_buckets, 1, 1 << 24));
  FLYWHEEL_ASSIGN_OR_RETURN(double content, get("content", o.content ? 1 : 0, 0, 1));
  o.content = content != 0;
  FLYWHEEL_ASSIGN_OR_RETURN(double online_dropout, get("online_dropout", 1, 0, 1));
  o.online_dropout = online_dropout != 0;
  FLYWHEEL_ASSIGN_OR_RETURN(double online_all, get("online_all", 0, 0, 1));
  o.online_all = online_all != 0;
  FLYWHEEL_RETURN_IF_ERROR(get_float("online_anchor", &o.online_anchor, 0, 1));
  FLYWHEEL_ASSIGN_OR_RETURN(double items_only, get("online_items_only", 0, 0, 1));
  o.online_items_only = items_only != 0;
  FLYWHEEL_ASSIGN_OR_RETURN(std::string online_optimizer,
                            GetChoice(name, params, "online_optimizer", "adam", {"adam", "sgd"}));
  o.online_optimizer = online_optimizer == "sgd" ? SasrecOptimizer::kSgd : SasrecOptimizer::kAdam;
  FLYWHEEL_ASSIGN_OR_RETURN(double seed, get("seed", static_cast<double>(o.seed), 0, 1e15));
  o.seed = static_cast<uint64_t>(seed);
  FLYWHEEL_ASSIGN_OR_RETURN(std::string act,
                            GetChoice(name, params, "act", "relu", {"relu", "gelu"}));
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::string loss, GetChoice(name, params, "loss", "softmax", {"softmax", "sampled", "bce"}));
  o.gelu = act == "gelu";
  o.loss = loss == "sampled" ? SasrecLoss::kSampled
           : loss == "bce"   ? SasrecLoss::kBce
                             : SasrecLoss::kSoftmax;
  return o;
}

}  // namespace

std::vector<std::string> KnownModels() {
  return {"pop", "recentpop", "itemknn", "bpr", "twotower", "sasrec"};
}

Result<std::unique_ptr<Recommender>> CreateRecommender(const std::string& name,
                                                       const ModelParams& params) {
  if (name == "pop") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {}));
    return std::unique_ptr<Recommender>(std::make_unique<MostPop>());
  }
  if (name == "recentpop") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {"half_life_hours"}));
    RecentPopOptions options;
    FLYWHEEL_ASSIGN_OR_RETURN(options.half_life_hours,
                              GetDouble(name, params, "half_life_hours", 24.0, 1e-3, 1e7));
    return std::unique_ptr<Recommender>(std::make_unique<RecentPop>(options));
  }
  if (name == "itemknn") {
    FLYWHEEL_RETURN_IF_ERROR(CheckKeys(name, params, {"window", "history", "decay"}));
    ItemKnnOptions options;
    FLYWHEEL_ASSIGN_OR_RETURN(double window, GetDouble(name, params, "window", 50, 1, 10000));
    FLYWHEEL_ASSIGN_OR_RETURN(double history, GetDouble(name, params, "history", 20, 1, 10000));
    FLYWHEEL_ASSIGN_OR_RETURN(options.decay, GetDouble(name, params, "decay", 0.9, 0, 1));
    options.window = static_cast<int>(window);
    options.history = static_cast<int>(history);
    return std::unique_ptr<Recommender>(std::make_unique<ItemKnn>(options));
  }
  if (name == "bpr") {
    FLYWHEEL_ASSIGN_OR_RETURN(BprOptions options, BprOptionsFromParams(params));
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Bpr> model, Bpr::Create(options));
    return std::unique_ptr<Recommender>(std::move(model));
  }
  if (name == "twotower") {
    FLYWHEEL_ASSIGN_OR_RETURN(TwoTowerOptions options, TwoTowerOptionsFromParams(params));
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<TwoTower> model, TwoTower::Create(options));
    return std::unique_ptr<Recommender>(std::move(model));
  }
  if (name == "sasrec") {
    FLYWHEEL_ASSIGN_OR_RETURN(SasrecOptions options, SasrecOptionsFromParams(params));
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Sasrec> model, Sasrec::Create(options));
    return std::unique_ptr<Recommender>(std::move(model));
  }
  std::string known;
  for (const auto& model : KnownModels()) {
    known += (known.empty() ? "" : ", ") + model;
  }
  return Status::InvalidArgument("unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace flywheel::model
