// TwoTowerOptions: validation, parsing from "--param twotower.KEY=VALUE", and params().
#include <cmath>
#include <cstdio>

#include "base/strings.h"
#include "model/twotower.h"

namespace flywheel::model {
namespace {

Status Invalid(const std::string& field, const std::string& rule) {
  return Status::InvalidArgument("twotower: " + field + " must be " + rule);
}

bool InRange(double value, double min, double max) {
  return std::isfinite(value) && value >= min && value <= max;
}

std::string Num(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

struct NumericParam {
  const char* key;
  double min;
  double max;
};

// Every numeric parameter with its range, in the order of Values(); Validate, the parser and
// params() share it.
constexpr NumericParam kNumeric[] = {
    {"dim", 1, 4096},        {"lr", 1e-30, 1e30},
    {"lr_decay", 0, 1e6},    {"l2", 0, 1e6},
    {"init_std", 0, 1e3},    {"clip", 0, 1e30},
    {"negatives", 1, 1000},  {"popularity_sampling", 0, 1},
    {"history", 0, 1000},    {"half_life_hours", 1e-6, 1e9},
    {"history_decay", 0, 1}, {"content", 0, 1},
    {"max_tags", 0, 1000},   {"replay", 0, 100},
    {"reservoir", 1, 1e8},   {"epochs", 0, 1000},
    {"threads", 1, 64},      {"seed", 0, 1e15},
};

// The slot of `key` in a Values() vector (same order as kNumeric), or null.
double* Field(std::string_view key, std::vector<double>* values) {
  for (size_t i = 0; i < std::size(kNumeric); ++i) {
    if (kNumeric[i].key == key) {
      return &(*values)[i];
    }
  }
  return nullptr;
}

std::vector<double> Values(const TwoTowerOptions& o) {
  return {static_cast<double>(o.dim),
          o.lr,
          o.lr_decay,
          o.l2,
          o.init_std,
          o.clip,
          static_cast<double>(o.negatives),
          o.popularity_sampling ? 1.0 : 0.0,
          static_cast<double>(o.history),
          o.half_life_hours,
          o.history_decay,
          o.content ? 1.0 : 0.0,
          static_cast<double>(o.max_tags),
          static_cast<double>(o.replay),
          static_cast<double>(o.reservoir),
          static_cast<double>(o.epochs),
          static_cast<double>(o.threads),
          static_cast<double>(o.seed)};
}

void Assign(const std::vector<double>& v, TwoTowerOptions* o) {
  size_t i = 0;
  o->dim = static_cast<uint32_t>(v[i++]);
  o->lr = static_cast<float>(v[i++]);
  o->lr_decay = static_cast<float>(v[i++]);
  o->l2 = static_cast<float>(v[i++]);
  o->init_std = static_cast<float>(v[i++]);
  o->clip = static_cast<float>(v[i++]);
  o->negatives = static_cast<int>(v[i++]);
  o->popularity_sampling = v[i++] != 0;
  o->history = static_cast<int>(v[i++]);
  o->half_life_hours = static_cast<float>(v[i++]);
  o->history_decay = static_cast<float>(v[i++]);
  o->content = v[i++] != 0;
  o->max_tags = static_cast<int>(v[i++]);
  o->replay = static_cast<int>(v[i++]);
  o->reservoir = static_cast<int>(v[i++]);
  o->epochs = static_cast<int>(v[i++]);
  o->threads = static_cast<int>(v[i++]);
  o->seed = static_cast<uint64_t>(v[i++]);
}

}  // namespace

Status ValidateTwoTowerOptions(const TwoTowerOptions& o) {
  const std::vector<double> values = Values(o);
  for (size_t i = 0; i < std::size(kNumeric); ++i) {
    if (!InRange(values[i], kNumeric[i].min, kNumeric[i].max)) {
      return Invalid(kNumeric[i].key, "in [" + Num(kNumeric[i].min) + ", " + Num(kNumeric[i].max) +
                                          "], got " + Num(values[i]));
    }
  }
  if (o.optimizer == embedding::OptimizerKind::kFtrl) {
    return Invalid("optimizer", "sgd, adagrad or adam");
  }
  if (o.loss != TwoTowerLoss::kBpr && o.loss != TwoTowerLoss::kSoftmax) {
    return Invalid("loss", "bpr or softmax");
  }
  return Status::Ok();
}

Result<TwoTowerOptions> TwoTowerOptionsFromParams(
    const std::map<std::string, std::string>& params) {
  TwoTowerOptions o;
  std::vector<double> values = Values(o);
  for (const auto& [key, text] : params) {
    if (key == "loss") {
      if (text != "bpr" && text != "softmax") {
        return Invalid("loss", "bpr or softmax, got '" + text + "'");
      }
      o.loss = text == "bpr" ? TwoTowerLoss::kBpr : TwoTowerLoss::kSoftmax;
      continue;
    }
    if (key == "optimizer") {
      auto kind = embedding::ParseOptimizerKind(text);
      if (!kind.ok() || *kind == embedding::OptimizerKind::kFtrl) {
        return Invalid("optimizer", "sgd, adagrad or adam, got '" + text + "'");
      }
      o.optimizer = *kind;
      continue;
    }
    double* field = Field(key, &values);
    if (field == nullptr) {
      return Status::InvalidArgument(
          "model twotower: unknown parameter '" + key +
          "' (allowed: dim, loss, optimizer, lr, lr_decay, l2, init_std, clip, negatives, "
          "popularity_sampling, history, half_life_hours, history_decay, content, max_tags, "
          "replay, reservoir, epochs, threads, seed)");
    }
    auto value = base::ParseDouble(text);
    if (!value.ok()) {
      return Invalid(key, "a number, got '" + text + "'");
    }
    *field = *value;
  }
  for (size_t i = 0; i < std::size(kNumeric); ++i) {
    if (!InRange(values[i], kNumeric[i].min, kNumeric[i].max)) {
      return Invalid(kNumeric[i].key, "in [" + Num(kNumeric[i].min) + ", " + Num(kNumeric[i].max) +
                                          "], got " + Num(values[i]));
    }
  }
  Assign(values, &o);
  return o;
}

KeyValues TwoTower::params() const {
  const TwoTowerOptions& o = options_;
  const std::vector<double> values = Values(o);
  KeyValues out;
  for (size_t i = 0; i < std::size(kNumeric); ++i) {
    out.emplace_back(kNumeric[i].key, Num(values[i]));
  }
  out.emplace_back("loss", o.loss == TwoTowerLoss::kBpr ? "bpr" : "softmax");
  out.emplace_back("optimizer", std::string(embedding::OptimizerKindName(o.optimizer)));
  return out;
}

}  // namespace flywheel::model
