#include "model/bpr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <utility>

#include "base/dot.h"

namespace flywheel::model {
namespace {

constexpr size_t kColdItems = 50;  // recent items averaged for a user without a row

using base::Dot;

std::string Num(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

const char* SamplingName(BprSampling sampling) {
  switch (sampling) {
    case BprSampling::kUniform:
      return "uniform";
    case BprSampling::kPopularity:
      return "popularity";
    case BprSampling::kRecent:
      return "recent";
  }
  return "?";
}

Status Invalid(const std::string& field, const std::string& rule) {
  return Status::InvalidArgument("bpr: " + field + " must be " + rule);
}

bool InRange(double value, double min, double max) {
  return std::isfinite(value) && value >= min && value <= max;
}

// A finite stand-in for a non-finite score, keeping its order where it has one.
float Finite(float score) {
  if (std::isnan(score) || score < 0) {
    return std::numeric_limits<float>::lowest();
  }
  return std::numeric_limits<float>::max();
}

}  // namespace

const ParamTable<BprOptions>& BprParamTable() {
  using embedding::OptimizerKind;
  using O = BprOptions;
  static const ParamTable<O> kTable =
      ParamTable<O>("bpr")
          .Choice("loss", &O::loss, {{"bpr", BprLoss::kBpr}, {"mse", BprLoss::kMse}},
                  "`bpr`: pairwise ranking loss -log sigmoid(x_ui - x_uj) on implicit feedback; "
                  "`mse`: rating regression mu + b_u + b_i + p_u.q_i on event values (RMSE), "
                  "ranking by b_i + p_u.q_i (no context)")
          .Int("context", &O::context, 0, kBprMaxContext,
               "recent positive items of the user whose input vectors are averaged into the "
               "query: more = steadier but slower to follow the session, cost O(context x dim) "
               "per step; 0 = plain MF (query = p_u; a user without a row is scored by the mean "
               "q of their last 50 items)")
          .Bool("user_rows", &O::user_rows,
                "1: the query includes the user's own row p_u (long-term taste); 0: items only "
                "(no per-user memory; needs context > 0)")
          .Int("dim", &O::dim, 1, 4096,
               "factor dimension: more = finer taste, but slower steps and scoring (O(dim) per "
               "item) and more data needed per user")
          .Choice("optimizer", &O::optimizer,
                  {{"sgd", OptimizerKind::kSgd},
                   {"adagrad", OptimizerKind::kAdagrad},
                   {"adam", OptimizerKind::kAdam}},
                  "row optimizer; adagrad's per-coordinate steps suit rare ids (long-tail items "
                  "get larger steps)")
          .Double("lr", &O::lr, 1e-30, 1e30,
                  "learning rate (its scale depends on the optimizer): higher adapts faster to "
                  "new events but is noisier; far too high diverges (non-finite updates are "
                  "skipped by the table's guard)")
          .Double("lr_decay", &O::lr_decay, 0, 1e6,
                  "lr_t = lr / sqrt(1 + lr_decay * t), t = steps so far; 0 keeps lr constant, "
                  "which an online model that must keep adapting usually wants")
          .Double("l2", &O::l2, 0, 1e6,
                  "L2 penalty on the rows touched by a step: larger fights over-fitting of "
                  "users/items with few events, too large shrinks everything to popularity")
          .Double("init_std", &O::init_std, 0, 1e3, "new rows start as normal(0, init_std)")
          .Double("clip", &O::clip, 0, 1e30,
                  "> 0: clip each row gradient to this L2 norm; 0: no clipping")
          .Int("negatives", &O::negatives, 1, 1000,
               "sampled negatives per positive (loss averaged over them): more = sharper "
               "ranking signal, cost O(negatives x dim) per step")
          .Choice("sampling", &O::sampling,
                  {{"uniform", BprSampling::kUniform},
                   {"popularity", BprSampling::kPopularity},
                   {"recent", BprSampling::kRecent}},
                  "`uniform` over known items; `popularity` (proportional to past positive "
                  "counts, drawn from the replay reservoir, with log-q correction relative to "
                  "uniform) pushes down popular items the user skipped; `recent` (from the last "
                  "`recent_window` positives) focuses on what is trending now")
          .Int("recent_window", &O::recent_window, 1, 1e8,
               "size of the ring of recent positives used by `sampling=recent`")
          .Int("replay", &O::replay, 0, 100,
               "past events (uniform from the reservoir, with their contexts) replayed after "
               "each positive event, against forgetting: more = steadier but slower per event "
               "and slower to follow drift")
          .Int("reservoir", &O::reservoir, 1, 1e8,
               "capacity of the replay reservoir (uniform sample of all past positives; 56 "
               "bytes each)")
          .Int("epochs", &O::epochs, 0, 1000,
               "passes of `Fit` (warm-up pre-training) over its history")
          .Int("threads", &O::threads, 1, 64,
               "threads of `Fit`: > 1 runs the passes Hogwild-style on shards of the shuffled "
               "events (faster on a free multi-core machine, results vary from run to run); 1 "
               "is deterministic. Online `Observe` is always one thread")
          .Int("seed", &O::seed, 0, 1e15,
               "seeds row initialisation, sampling, reservoir and shuffling; same seed + same "
               "events (threads=1) = bit-identical model");
  return kTable;
}

Status ValidateBprOptions(const BprOptions& o) {
  if (o.dim < 1 || o.dim > 4096) {
    return Invalid("dim", "in [1, 4096]");
  }
  if (o.optimizer == embedding::OptimizerKind::kFtrl) {
    return Invalid("optimizer", "sgd, adagrad or adam");
  }
  if (!InRange(o.lr, 1e-30, 1e30) || !InRange(o.l2, 0, 1e6) || !InRange(o.lr_decay, 0, 1e6) ||
      !InRange(o.init_std, 0, 1e3) || !InRange(o.clip, 0, 1e30)) {
    return Invalid("lr, l2, lr_decay, init_std, clip", "finite, lr > 0, others >= 0");
  }
  if (o.negatives < 1 || o.negatives > 1000) {
    return Invalid("negatives", "in [1, 1000]");
  }
  if (o.recent_window < 1 || o.reservoir < 1) {
    return Invalid("recent_window and reservoir", ">= 1");
  }
  if (o.replay < 0 || o.replay > 100 || o.epochs < 0 || o.epochs > 1000) {
    return Invalid("replay, epochs", "in [0, 100], [0, 1000]");
  }
  if (o.context < 0 || o.context > kBprMaxContext) {
    return Invalid("context", "in [0, " + std::to_string(kBprMaxContext) + "]");
  }
  if (o.threads < 1 || o.threads > 64) {
    return Invalid("threads", "in [1, 64]");
  }
  if (!o.user_rows && o.context == 0) {
    return Invalid("user_rows", "1 when context is 0 (the query would be empty)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Bpr>> Bpr::Create(const BprOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateBprOptions(options));
  embedding::EmbeddingTableOptions table;
  table.dim = options.dim + 1;  // factors + bias
  table.optimizer.kind = options.optimizer;
  table.optimizer.clip_norm = options.clip;
  table.init_std = options.init_std;
  table.seed = base::Mix64(options.seed * 2);
  FLYWHEEL_ASSIGN_OR_RETURN(auto users, embedding::EmbeddingTable::Create(table));
  table.seed = base::Mix64(options.seed * 2 + 1);
  FLYWHEEL_ASSIGN_OR_RETURN(auto items, embedding::EmbeddingTable::Create(table));
  table.dim = options.dim;  // context vectors have no bias
  table.seed = base::Mix64(options.seed * 2 + 2);
  FLYWHEEL_ASSIGN_OR_RETURN(auto contexts, embedding::EmbeddingTable::Create(table));
  return std::unique_ptr<Bpr>(
      new Bpr(options, std::move(users), std::move(items), std::move(contexts)));
}

Bpr::Bpr(const BprOptions& options, std::unique_ptr<embedding::EmbeddingTable> users,
         std::unique_ptr<embedding::EmbeddingTable> items,
         std::unique_ptr<embedding::EmbeddingTable> contexts)
    : options_(options),
      users_(std::move(users)),
      items_(std::move(items)),
      contexts_(std::move(contexts)),
      worker_(base::Mix64(options.seed ^ 0xB9Bu), options.dim) {}

KeyValues Bpr::params() const {
  const BprOptions& o = options_;
  return {{"dim", std::to_string(o.dim)},
          {"optimizer", std::string(embedding::OptimizerKindName(o.optimizer))},
          {"lr", Num(o.lr)},
          {"l2", Num(o.l2)},
          {"lr_decay", Num(o.lr_decay)},
          {"init_std", Num(o.init_std)},
          {"clip", Num(o.clip)},
          {"negatives", std::to_string(o.negatives)},
          {"sampling", SamplingName(o.sampling)},
          {"recent_window", std::to_string(o.recent_window)},
          {"replay", std::to_string(o.replay)},
          {"reservoir", std::to_string(o.reservoir)},
          {"epochs", std::to_string(o.epochs)},
          {"context", std::to_string(o.context)},
          {"user_rows", o.user_rows ? "1" : "0"},
          {"threads", std::to_string(o.threads)},
          {"seed", std::to_string(o.seed)},
          {"loss", o.loss == BprLoss::kMse ? "mse" : "bpr"}};
}

uint64_t Bpr::skipped_non_finite() const {
  return users_->skipped_non_finite() + items_->skipped_non_finite() +
         contexts_->skipped_non_finite();
}

Bpr::Memory Bpr::memory() const {
  Memory m;
  m.user_rows = users_->size();
  m.item_rows = items_->size();
  m.context_rows = contexts_->size();
  m.user_row_bytes = users_->bytes_per_row();
  m.item_row_bytes = items_->bytes_per_row();
  m.context_row_bytes = contexts_->bytes_per_row();
  m.tables_allocated = users_->memory_bytes() + items_->memory_bytes() + contexts_->memory_bytes();
  m.per_item_arrays =
      (panels_.capacity() + item_bias_.capacity() + counts_.capacity()) * sizeof(float) +
      known_.capacity();
  m.reservoir_bytes = reservoir_.capacity() * sizeof(Replayed);
  return m;
}

// ----- bookkeeping -----

void Bpr::GrowItems(ItemIdx item) {
  if (item >= known_.size()) {
    const size_t n = static_cast<size_t>(item) + 1;
    const size_t padded = (n + kPanel - 1) / kPanel * kPanel;
    known_.resize(n, 0);
    counts_.resize(n, 0.0f);
    item_bias_.resize(padded, 0.0f);
    panels_.resize(padded * options_.dim, 0.0f);
  }
  if (known_[item] == 0) {
    known_[item] = 1;
    ++num_known_;
  }
}

void Bpr::Remember(const data::Interaction& event, const Context& context) {
  counts_[event.item] += 1.0f;
  total_count_ += 1.0;
  rating_sum_ += event.value;
  const auto window = static_cast<size_t>(options_.recent_window);
  if (recent_.size() < window) {
    recent_.push_back(event.item);
  } else {
    recent_[recent_next_] = event.item;
  }
  recent_next_ = (recent_next_ + 1) % window;
  const Replayed entry{event.user, event.item, event.value, context};
  ++positives_seen_;
  if (reservoir_.size() < static_cast<size_t>(options_.reservoir)) {
    reservoir_.push_back(entry);
  } else if (const uint64_t slot = worker_.rng.Uniform(positives_seen_); slot < reservoir_.size()) {
    reservoir_[slot] = entry;
  }
}

void Bpr::RefreshMirror(std::span<const uint64_t> item_ids) {
  std::vector<float> rows(item_ids.size() * row_floats());
  items_->LookupBatch(item_ids, rows);
  MirrorRows(item_ids, rows);
}

void Bpr::MirrorRows(std::span<const uint64_t> item_ids, std::span<const float> rows) {
  const size_t dim = options_.dim;
  const size_t rf = row_floats();
  for (size_t n = 0; n < item_ids.size(); ++n) {
    const size_t item = item_ids[n];
    const float* row = rows.data() + n * rf;
    float* out = panels_.data() + (item / kPanel) * kPanel * dim + item % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      out[k * kPanel] = row[k];
    }
    item_bias_[item] = row[dim];
  }
}

// ----- scoring -----

float Bpr::Score(UserIdx user, ItemIdx item) const {
  const std::vector<float> p = UserRow(user);
  const std::vector<float> q = ItemRow(item);
  if (q.empty()) {
    return 0.0f;
  }
  const size_t dim = options_.dim;
  return (p.empty() ? 0.0f : Dot(p.data(), q.data(), dim)) + q[dim];
}

std::optional<float> Bpr::PredictRating(UserIdx user, ItemIdx item) const {
  if (options_.loss != BprLoss::kMse) {
    return std::nullopt;
  }
  return RatingOf(user, item);
}

float Bpr::RatingOf(UserIdx user, ItemIdx item) const {
  std::vector<float> p(row_floats());
  std::vector<float> q(row_floats());
  users_->Lookup(user, p);
  items_->Lookup(item, q);
  return RatingFromRows(p.data(), q.data());
}

std::vector<float> Bpr::UserRow(UserIdx user) const {
  std::vector<float> row(row_floats());
  return users_->Lookup(user, row) ? row : std::vector<float>();
}

std::vector<float> Bpr::ItemRow(ItemIdx item) const {
  std::vector<float> row(row_floats());
  return items_->Lookup(item, row) ? row : std::vector<float>();
}

bool Bpr::QueryVector(const RecommendRequest& request, std::span<float> query) const {
  const size_t dim = options_.dim;
  thread_local std::vector<float> row;
  row.resize(row_floats());
  std::fill(query.begin(), query.end(), 0.0f);
  bool have = false;
  if ((options_.user_rows || options_.loss == BprLoss::kMse) && users_->Lookup(request.user, row)) {
    std::copy(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(dim), query.begin());
    have = true;
  }
  if (request.user_state == nullptr) {
    return have;
  }
  if (options_.context > 0 && options_.loss == BprLoss::kBpr) {
    return AddContext(*request.user_state, query) || have;
  }
  return have || ColdQuery(*request.user_state, query);
}

bool Bpr::AddContext(const UserState& state, std::span<float> query) const {
  const Context context = ContextOf(&state);
  if (context.size == 0) {
    return false;
  }
  const size_t dim = options_.dim;
  thread_local std::vector<float> rows;
  thread_local std::vector<uint64_t> ids;
  ids.assign(context.items, context.items + context.size);
  rows.resize(context.size * dim);
  contexts_->LookupBatch(ids, rows);
  const float inv = 1.0f / static_cast<float>(context.size);
  for (size_t c = 0; c < context.size; ++c) {
    for (size_t k = 0; k < dim; ++k) {
      query[k] += inv * rows[c * dim + k];
    }
  }
  return true;
}

// A user without a row (context=0): the mean q of their most recent positive known items.
bool Bpr::ColdQuery(const UserState& state, std::span<float> query) const {
  const size_t dim = options_.dim;
  size_t used = 0;
  const auto& recent = state.recent();
  for (auto it = recent.rbegin(); it != recent.rend() && used < kColdItems; ++it) {
    if (it->weight <= 0 || it->item >= known_.size() || known_[it->item] == 0) {
      continue;
    }
    const float* q = panels_.data() + (it->item / kPanel) * kPanel * dim + it->item % kPanel;
    for (size_t k = 0; k < dim; ++k) {
      query[k] += q[k * kPanel];
    }
    ++used;
  }
  if (used == 0) {
    return false;
  }
  for (float& value : query) {
    value /= static_cast<float>(used);
  }
  return true;
}

void Bpr::ScoreAll(const RecommendRequest& request, std::span<float> scores) const {
  const size_t n = std::min(scores.size(), known_.size());
  const size_t dim = options_.dim;
  thread_local std::vector<float> query;
  query.resize(dim);
  if (QueryVector(request, query)) {
    // scores[i] = b_i + sum_k query[k] * q_i[k], eight items at a time: each lane of acc is
    // an independent sum, so GCC -O2 vectorises the inner loop without reassociation.
    for (size_t block = 0; block * kPanel < n; ++block) {
      const float* panel = panels_.data() + block * kPanel * dim;
      float acc[kPanel];
      for (size_t j = 0; j < kPanel; ++j) {
        acc[j] = item_bias_[block * kPanel + j];
      }
      for (size_t k = 0; k < dim; ++k) {
        const float weight = query[k];
        for (size_t j = 0; j < kPanel; ++j) {
          acc[j] += weight * panel[k * kPanel + j];
        }
      }
      const size_t count = std::min(kPanel, n - block * kPanel);
      std::copy(acc, acc + count, scores.begin() + static_cast<std::ptrdiff_t>(block * kPanel));
    }
  } else {
    std::copy(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(n), scores.begin());
  }
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) {
    if (known_[i] == 0) {
      scores[i] = kNegInf;
    } else if (!std::isfinite(scores[i])) {
      scores[i] = Finite(scores[i]);
    }
  }
}

bool Bpr::RetrievalQuery(const RecommendRequest& request, std::span<float> out) const {
  const size_t dim = options_.dim;
  if (out.size() != dim + 1 || !QueryVector(request, out.first(dim))) {
    return false;
  }
  out[dim] = 1.0f;
  return true;
}

bool Bpr::RetrievalItem(ItemIdx item, std::span<float> out) const {
  const size_t dim = options_.dim;
  if (out.size() != dim + 1 || item >= known_.size() || known_[item] == 0) {
    return false;
  }
  const float* panel = panels_.data() + (item / kPanel) * kPanel * dim + item % kPanel;
  for (size_t k = 0; k < dim; ++k) {
    out[k] = panel[k * kPanel];
  }
  out[dim] = item_bias_[item];
  return true;
}

void Bpr::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  std::span<float> scores = ScratchScores(known_.size());
  ScoreAll(request, scores);
  SelectTopK(scores, request.k, request.exclude, out);
}

}  // namespace flywheel::model
