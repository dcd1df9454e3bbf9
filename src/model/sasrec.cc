#include "model/sasrec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <unordered_set>

#include "model/sasrec_internal.h"
#include "nn/gemm.h"
#include "nn/ops.h"

namespace flywheel::model {
namespace {

constexpr size_t kPositivesCapacity = 100000;  // popularity-sampling reservoir

const char* LossName(SasrecLoss loss) {
  switch (loss) {
    case SasrecLoss::kSoftmax:
      return "softmax";
    case SasrecLoss::kSampled:
      return "sampled";
    case SasrecLoss::kBce:
      return "bce";
  }
  return "?";
}

}  // namespace

const ParamTable<SasrecOptions>& SasrecParamTable() {
  using O = SasrecOptions;
  static const ParamTable<O> kTable =
      ParamTable<O>("sasrec")
          .Int(
              "dim", [](auto& o) -> auto& { return o.encoder.dim; }, 1, 1024,
              "embedding and hidden size: more = finer items, cost O(dim^2) per token")
          .Int(
              "heads", [](auto& o) -> auto& { return o.encoder.heads; }, 1, 64,
              "attention heads (must divide dim)")
          .Int(
              "blocks", [](auto& o) -> auto& { return o.encoder.blocks; }, 0, 16,
              "transformer blocks: more = longer-range patterns, slower steps")
          .Int(
              "max_len", [](auto& o) -> auto& { return o.encoder.max_len; }, 1, 1024,
              "recent positive items the model reads (training chunks are max_len + 1 long)")
          .Double(
              "dropout", [](auto& o) -> auto& { return o.encoder.dropout; }, 0, 0.99,
              "dropout rate of the encoder while training")
          .Choice(
              "act", [](auto& o) -> auto& { return o.encoder.gelu; },
              {{"relu", false}, {"gelu", true}}, "activation of the feed-forward layers")
          .Choice("loss", &O::loss,
                  {{"softmax", SasrecLoss::kSoftmax},
                   {"sampled", SasrecLoss::kSampled},
                   {"bce", SasrecLoss::kBce}},
                  "`softmax`: full softmax over all items (small catalogues); `sampled`: sampled "
                  "softmax over `negatives` popularity-drawn items with log-q correction; `bce`: "
                  "binary cross-entropy with `negatives` uniform negatives per position")
          .Int("negatives", &O::negatives, 1, 100000,
               "negatives: per position (bce) or shared by the batch (sampled)")
          .Double("lr", &O::lr, 1e-9, 10, "Adam learning rate of Fit")
          .Double("l2", &O::l2, 0, 10, "L2 penalty on the weights")
          .Double("init_std", &O::init_std, 1e-6, 10,
                  "item rows and positions start as normal(0, init_std)")
          .Int("batch", &O::batch, 1, 100000, "sequences per Fit minibatch")
          .Int("epochs", &O::epochs, 0, 100000, "Fit: at most this many epochs")
          .Int("patience", &O::patience, 1, 1000,
               "Fit: stop after this many epochs without a better validation NDCG@10")
          .Int("valid_users", &O::valid_users, 0, 1e8,
               "Fit: users whose last item is held out for early stopping")
          .Int("max_chunks", &O::max_chunks, 0, 1e6,
               "Fit: training chunks per user, newest first (0 = all)")
          .Int("threads", &O::threads, 1, 64,
               "Fit threads (1: single-threaded; same seed and threads = same result)")
          .Double("online_lr", &O::online_lr, 0, 10,
                  "learning rate of the online step per positive event (pre-trained model)")
          .Double("scratch_lr", &O::scratch_lr, 0, 10,
                  "online learning rate while no Fit has trained the model; 0: online_lr")
          .Int("replay", &O::replay, 0, 1000,
               "past sequences from the reservoir replayed with each online step")
          .Int("reservoir", &O::reservoir, 1, 1e7, "capacity of the replay reservoir")
          .Int("seed", &O::seed, 0, 1e15, "seeds weights, dropout, sampling and shuffling")
          .Bool("content", &O::content,
                "1: an item's vector adds its hashed content features (SetItemContent)")
          .Int("feature_buckets", &O::feature_buckets, 1, 1 << 24,
               "rows of the hashed content feature table")
          .Bool("online_dropout", &O::online_dropout, "dropout during online steps")
          .Bool("online_all", &O::online_all,
                "online loss on every position of the sequences, not only the newest")
          .Choice("online_optimizer", &O::online_optimizer,
                  {{"adam", SasrecOptimizer::kAdam}, {"sgd", SasrecOptimizer::kSgd}},
                  "online step rule: Adam (pre-training moments continue) or plain SGD")
          .Bool("online_items_only", &O::online_items_only,
                "online steps move the item rows only; the encoder stays as pre-trained")
          .Double("online_anchor", &O::online_anchor, 0, 1,
                  "after each online step, pull the touched weights back towards the "
                  "pre-trained ones by this share (0: off)");
  return kTable;
}

Status ValidateSasrecOptions(const SasrecOptions& o) {
  auto bad = [](const std::string& field) {
    return Status::InvalidArgument("sasrec: invalid option " + field);
  };
  if (o.encoder.dim < 1 || o.encoder.dim > 1024) {
    return bad("dim");
  }
  if (o.encoder.heads < 1 || o.encoder.dim % o.encoder.heads != 0) {
    return bad("heads (must divide dim)");
  }
  if (o.encoder.blocks < 0 || o.encoder.blocks > 16) {
    return bad("blocks");
  }
  if (o.encoder.max_len < 1 || o.encoder.max_len > 1024) {
    return bad("max_len");
  }
  if (!(o.encoder.dropout >= 0 && o.encoder.dropout < 1)) {
    return bad("dropout");
  }
  if (o.negatives < 1 || o.batch < 1 || o.epochs < 0 || o.patience < 1 || o.valid_users < 0 ||
      o.max_chunks < 0 || o.threads < 1 || o.threads > 64 || o.replay < 0 || o.reservoir < 1) {
    return bad("negatives/batch/epochs/patience/valid_users/max_chunks/threads/replay/reservoir");
  }
  if (o.feature_buckets < 1 || o.feature_buckets > (1 << 24)) {
    return bad("feature_buckets");
  }
  if (!(o.online_anchor >= 0) || !(o.online_anchor <= 1)) {
    return bad("online_anchor");
  }
  if (!(o.lr > 0) || !(o.online_lr >= 0) || !(o.scratch_lr >= 0) || !(o.l2 >= 0) ||
      !(o.init_std > 0)) {
    return bad("lr/online_lr/scratch_lr/l2/init_std");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Sasrec>> Sasrec::Create(const SasrecOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateSasrecOptions(options));
  return std::unique_ptr<Sasrec>(new Sasrec(options));
}

Sasrec::Sasrec(const SasrecOptions& options) : options_(options), encoder_(options.encoder) {
  base::Rng rng(base::Mix64(options.seed ^ 0xE4C0DE5ULL));
  encoder_.Init(&rng, options.init_std);
  enc_m_.assign(encoder_.params().size(), 0.0f);
  enc_v_.assign(encoder_.params().size(), 0.0f);
  if (options.content) {
    const size_t cells = static_cast<size_t>(options.feature_buckets) * options.encoder.dim;
    feat_.assign(cells, 0.0f);  // a feature starts at zero: E_i starts at its id row
    feat_m_.assign(cells, 0.0f);
    feat_v_.assign(cells, 0.0f);
    feat_grad_.assign(cells, 0.0f);
    feature_items_.resize(options.feature_buckets);
    feat_mark_.assign(options.feature_buckets, 0);
  }
}

Sasrec::~Sasrec() = default;

KeyValues Sasrec::params() const {
  const SasrecOptions& o = options_;
  return {{"dim", std::to_string(o.encoder.dim)},
          {"heads", std::to_string(o.encoder.heads)},
          {"blocks", std::to_string(o.encoder.blocks)},
          {"max_len", std::to_string(o.encoder.max_len)},
          {"dropout", std::to_string(o.encoder.dropout)},
          {"act", o.encoder.gelu ? "gelu" : "relu"},
          {"loss", LossName(o.loss)},
          {"negatives", std::to_string(o.negatives)},
          {"lr", std::to_string(o.lr)},
          {"l2", std::to_string(o.l2)},
          {"batch", std::to_string(o.batch)},
          {"epochs", std::to_string(o.epochs)},
          {"patience", std::to_string(o.patience)},
          {"threads", std::to_string(o.threads)},
          {"online_lr", std::to_string(o.online_lr)},
          {"replay", std::to_string(o.replay)},
          {"online_dropout", o.online_dropout ? "1" : "0"},
          {"online_all", o.online_all ? "1" : "0"},
          {"online_optimizer", o.online_optimizer == SasrecOptimizer::kSgd ? "sgd" : "adam"},
          {"online_items_only", o.online_items_only ? "1" : "0"},
          {"online_anchor", std::to_string(o.online_anchor)},
          {"scratch_lr", std::to_string(o.scratch_lr)},
          {"content", o.content ? "1" : "0"},
          {"feature_buckets", std::to_string(o.feature_buckets)},
          {"seed", std::to_string(o.seed)},
          {"best_epoch", std::to_string(best_epoch_)}};
}

void Sasrec::GrowItems(ItemIdx item) {
  if (item < rows_) {
    return;
  }
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  const size_t old_rows = rows_;
  rows_ = static_cast<size_t>(item) + 1;
  items_.resize(rows_ * d);
  std::vector<float>& ids = IdRows();
  ids.resize(rows_ * d);
  for (size_t r = old_rows; r < rows_; ++r) {
    base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(r + 0x17E5ULL)));
    for (size_t c = 0; c < d; ++c) {
      ids[r * d + c] = static_cast<float>(rng.Normal() * options_.init_std);
    }
  }
  if (options_.content) {
    std::copy(ids.begin() + static_cast<int64_t>(old_rows * d), ids.end(),
              items_.begin() + static_cast<int64_t>(old_rows * d));
    item_feats_.resize(rows_);
    dirty_.resize(rows_, 0);
  }
  item_m_.resize(rows_ * d, 0.0f);
  item_v_.resize(rows_ * d, 0.0f);
  known_.resize(rows_, 0);
  counts_.resize(rows_, 0.0f);
}

void Sasrec::MarkKnown(ItemIdx item) {
  GrowItems(item);
  if (known_[item] == 0) {
    known_[item] = 1;
    known_list_.push_back(item);
  }
}

void Sasrec::NoteItem(ItemIdx item) {
  MarkKnown(item);
  counts_[item] += 1.0f;
  total_count_ += 1.0;
  ++positives_seen_;
  if (positives_.size() < kPositivesCapacity) {
    positives_.push_back(item);
    return;
  }
  base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(positives_seen_)));
  const uint64_t slot = rng.Uniform(positives_seen_);
  if (slot < kPositivesCapacity) {
    positives_[slot] = item;
  }
}

ItemIdx Sasrec::SampleKnown(base::Rng* rng) const {
  return known_list_[rng->Uniform(known_list_.size())];
}

ItemIdx Sasrec::SamplePopular(base::Rng* rng) const {
  return positives_[rng->Uniform(positives_.size())];
}

float Sasrec::LogQ(ItemIdx item) const {
  return static_cast<float>(std::log(std::max(1.0f, counts_[item]) / total_count_));
}

std::vector<ItemIdx> Sasrec::RecentSequence(const UserState& user) const {
  std::vector<ItemIdx> seq;
  for (const HistoryEntry& h : user.recent()) {
    if (h.weight > 0 && h.item < rows_ && known_[h.item] != 0) {
      seq.push_back(h.item);
    }
  }
  const size_t keep = static_cast<size_t>(options_.encoder.max_len);
  if (seq.size() > keep) {
    seq.erase(seq.begin(), seq.end() - static_cast<int64_t>(keep));
  }
  return seq;
}

void Sasrec::EncodeLast(std::span<const ItemIdx> sequence, nn::EncoderWorkspace* ws,
                        std::vector<float>* x) const {
  const int d = options_.encoder.dim;
  const int t = static_cast<int>(sequence.size());
  const int lengths[1] = {t};
  encoder_.Prepare(lengths, ws);
  x->resize(static_cast<size_t>(t) * d);
  nn::Gather(items_.data(), d, sequence.data(), t, x->data());
  const float in_scale = std::sqrt(static_cast<float>(d));
  for (float& v : *x) {
    v *= in_scale;
  }
  encoder_.Forward(x->data(), nullptr, ws);
}

void Sasrec::ScoreHidden(const float* h, std::span<float> scores) const {
  const int d = options_.encoder.dim;
  const int n = static_cast<int>(rows_);
  nn::Gemm(false, true, 1, n, d, 1.0f, h, d, items_.data(), d, 0.0f, scores.data(), n);
  for (int i = 0; i < n; ++i) {
    if (known_[i] == 0) {
      scores[i] = -std::numeric_limits<float>::infinity();
    }
  }
}

void Sasrec::ScoreSequence(std::span<const ItemIdx> sequence, std::span<float> scores) const {
  thread_local nn::EncoderWorkspace ws;
  thread_local std::vector<float> x;
  EncodeLast(sequence, &ws, &x);
  ScoreHidden(ws.out.data() + (sequence.size() - 1) * options_.encoder.dim, scores);
}

uint64_t Sasrec::cache_hits() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_hits_;
}

void Sasrec::UserVector(UserIdx user, const std::vector<ItemIdx>& sequence,
                        std::vector<float>* h) const {
  if (user != kNoUser) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(user);
    if (it != cache_.end() && it->second.version == version_ && it->second.sequence == sequence) {
      *h = it->second.h;
      ++cache_hits_;
      return;
    }
  }
  thread_local nn::EncoderWorkspace ws;
  thread_local std::vector<float> x;
  EncodeLast(sequence, &ws, &x);
  const int d = options_.encoder.dim;
  const float* last = ws.out.data() + (sequence.size() - 1) * d;
  h->assign(last, last + d);
  if (user != kNoUser) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kMaxCachedUsers) {
      cache_.clear();
    }
    cache_[user] = CachedUser{sequence, version_, *h};
  }
}

void Sasrec::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  out->clear();
  std::span<float> scores = ScratchScores(rows_);
  const std::vector<ItemIdx> seq = RecentSequence(*request.user_state);
  if (seq.empty()) {
    for (size_t i = 0; i < rows_; ++i) {
      scores[i] = known_[i] != 0 ? counts_[i] : -std::numeric_limits<float>::infinity();
    }
  } else {
    thread_local std::vector<float> h;
    UserVector(request.user, seq, &h);
    ScoreHidden(h.data(), scores);
    for (float& s : scores) {
      s = std::isnan(s) ? -std::numeric_limits<float>::infinity() : s;
    }
  }
  SelectTopK(scores, request.k, request.exclude, out);
}

std::vector<std::pair<ItemIdx, float>> Sasrec::Explain(const UserState& user, ItemIdx item) const {
  if (item >= rows_ || known_[item] == 0) {
    return {};
  }
  return RecentAttention(user);
}

std::vector<std::pair<ItemIdx, float>> Sasrec::RecentAttention(const UserState& user) const {
  std::vector<std::pair<ItemIdx, float>> result;
  const std::vector<ItemIdx> seq = RecentSequence(user);
  if (seq.empty()) {
    return result;
  }
  nn::EncoderWorkspace ws;
  std::vector<float> x;
  EncodeLast(seq, &ws, &x);
  const std::vector<float> weights = encoder_.LastAttention(ws);
  for (size_t j = 0; j < seq.size(); ++j) {
    auto it = std::find_if(result.begin(), result.end(),
                           [&](const auto& p) { return p.first == seq[j]; });
    if (it == result.end()) {
      result.emplace_back(seq[j], weights[j]);
    } else {
      it->second += weights[j];
    }
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return result;
}

bool Sasrec::RetrievalQuery(const RecommendRequest& request, std::span<float> out) const {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  if (out.size() != d + 1 || request.user_state == nullptr) {
    return false;
  }
  const std::vector<ItemIdx> seq = RecentSequence(*request.user_state);
  if (seq.empty()) {
    return false;
  }
  std::vector<float> h;
  UserVector(request.user, seq, &h);
  std::copy(h.begin(), h.end(), out.begin());
  out[d] = 1.0f;
  return true;
}

bool Sasrec::RetrievalItem(ItemIdx item, std::span<float> out) const {
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  if (out.size() != d + 1 || item >= rows_ || known_[item] == 0) {
    return false;
  }
  const float* row = items_.data() + static_cast<size_t>(item) * d;
  std::copy(row, row + d, out.begin());
  out[d] = 0.0f;
  return true;
}

std::vector<std::pair<ItemIdx, float>> Sasrec::RecentAttribution(
    const RecommendRequest& request) const {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  if (request.user_state == nullptr) {
    return {};
  }
  std::vector<std::pair<ItemIdx, float>> result = RecentAttention(*request.user_state);
  float total = 0;
  for (const auto& entry : result) {
    total += entry.second;
  }
  for (auto& entry : result) {
    entry.second = total > 0 ? entry.second / total : 0.0f;
  }
  return result;
}

void Sasrec::Remember(UserIdx user, std::vector<ItemIdx> sequence) {
  ++reservoir_seen_;
  if (reservoir_.size() < static_cast<size_t>(options_.reservoir)) {
    reservoir_.push_back(std::move(sequence));
    reservoir_users_.push_back(user);
    return;
  }
  base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(reservoir_seen_ + 0x5EEDULL)));
  const uint64_t slot = rng.Uniform(reservoir_seen_);
  if (slot < reservoir_.size()) {
    reservoir_[slot] = std::move(sequence);
    reservoir_users_[slot] = user;
  }
}

void Sasrec::Observe(const data::Interaction& event, const UserState& user) {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  if (event.weight <= 0) {
    return;  // negative feedback is not modelled
  }
  NoteItem(event.item);
  if (!learning_) {
    return;  // a delta replica: the parameters come from the trainer (ApplyDelta)
  }
  std::vector<ItemIdx> seq = RecentSequence(user);
  seq.push_back(event.item);
  if (seq.size() < 2) {
    return;
  }
  const float lr = OnlineLr();
  if (lr > 0) {
    auto first_target = [this](const std::vector<ItemIdx>& s) {
      return options_.online_all ? 0 : static_cast<int>(s.size()) - 2;
    };
    std::vector<Example> examples;
    examples.push_back({seq, first_target(seq)});
    if (!reservoir_.empty()) {
      base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(streams_++ * 64 + 62)));
      for (int r = 0; r < options_.replay; ++r) {
        const auto& s = reservoir_[rng.Uniform(reservoir_.size())];
        examples.push_back({s, first_target(s)});
      }
    }
    std::vector<const Example*> ptrs;
    ptrs.reserve(examples.size());
    for (const Example& e : examples) {
      ptrs.push_back(&e);
    }
    OnlineStep(ptrs, lr);
  }
  Remember(event.user, std::move(seq));
}

float Sasrec::OnlineLr() const {
  // Before any pre-training the weights are random: train from scratch at scratch_lr, with
  // no anchor (sasrec.h).
  const bool scratch = !pretrained() && options_.scratch_lr > 0;
  return scratch ? options_.scratch_lr : options_.online_lr;
}

void Sasrec::OnlineStep(std::span<const Example* const> examples, float lr) {
  const bool scratch = !pretrained() && options_.scratch_lr > 0;
  const float anchor = scratch ? 0.0f : options_.online_anchor;
  step_rule_ = {options_.online_dropout, options_.online_optimizer == SasrecOptimizer::kSgd,
                options_.online_items_only, anchor};
  if (anchor > 0 && anchor_enc_.empty()) {
    anchor_enc_ = encoder_.params();
    anchor_items_ = IdRows();
  }
  TrainStep(examples, 1, lr);
  step_rule_ = StepRule{};
}

void Sasrec::ObserveNegatives(UserIdx /*user*/, std::span<const ItemIdx> items,
                              std::span<const float> weights, TimestampMs /*now_ms*/,
                              const UserState& state) {
  const nn::ScopedFlushDenormals flush;
  if (items.size() != weights.size() || !learning_) {
    return;
  }
  std::vector<ItemIdx> seq = RecentSequence(state);
  std::vector<std::pair<ItemIdx, float>> targets;
  for (size_t n = 0; n < items.size(); ++n) {
    const ItemIdx j = items[n];
    const bool dup =
        std::any_of(targets.begin(), targets.end(), [j](const auto& t) { return t.first == j; });
    if (weights[n] > 0 && std::isfinite(weights[n]) && j < rows_ && known_[j] != 0 && !dup &&
        std::find(seq.begin(), seq.end(), j) == seq.end()) {
      targets.emplace_back(j, std::min(weights[n], 1.0f));
    }
  }
  const float lr = OnlineLr();
  if (targets.empty() || seq.empty() || lr <= 0) {
    return;  // nothing to learn: the model is untouched (weight 0 changes nothing)
  }
  // The loss reads the newest position only; its target (a repeat of the last item) is a
  // placeholder that NegativeLoss ignores.
  Example example{seq, static_cast<int>(seq.size()) - 1};
  example.items.push_back(seq.back());
  const Example* ptr = &example;
  negative_targets_ = &targets;
  OnlineStep(std::span<const Example* const>(&ptr, 1), lr);
  negative_targets_ = nullptr;
}

size_t Sasrec::ReplaySequencesOf(UserIdx user) const {
  return static_cast<size_t>(std::count(reservoir_users_.begin(), reservoir_users_.end(), user));
}

bool Sasrec::OnlineOnlyParam(std::string_view name) const {
  return name == "online_lr" || name == "replay" || name == "online_dropout" ||
         name == "online_all" || name == "online_optimizer" || name == "online_items_only" ||
         name == "online_anchor" || name == "scratch_lr";
}

void Sasrec::ForgetUser(UserIdx user) {
  {
    std::lock_guard lock(cache_mu_);
    cache_.erase(user);
  }
  if (user == kNoUser) {
    return;
  }
  size_t kept = 0;
  for (size_t i = 0; i < reservoir_.size(); ++i) {
    if (reservoir_users_[i] != user) {
      if (kept != i) {
        reservoir_[kept] = std::move(reservoir_[i]);
        reservoir_users_[kept] = reservoir_users_[i];
      }
      ++kept;
    }
  }
  reservoir_.resize(kept);
  reservoir_users_.resize(kept);
}

}  // namespace flywheel::model
