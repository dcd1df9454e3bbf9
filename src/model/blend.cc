#include "model/blend.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "base/random.h"

namespace flywheel::model {
namespace {

constexpr uint32_t kStateVersion = 1;

// 1-based rank of `item` among the first `k` of `list`, 0 when absent.
int RankIn(const std::vector<ScoredItem>& list, ItemIdx item, int k) {
  const size_t n = std::min(list.size(), static_cast<size_t>(k));
  for (size_t i = 0; i < n; ++i) {
    if (list[i].item == item) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

double Gain(int rank) {
  return rank > 0 ? 1.0 / std::log2(rank + 1.0) : 0.0;
}

std::vector<std::vector<ScoredItem>>& ScratchLists(size_t n) {
  thread_local std::vector<std::vector<ScoredItem>> lists;
  lists.resize(n);
  return lists;
}

}  // namespace

const ParamTable<BlendOptions>& BlendParamTable() {
  static const ParamTable<BlendOptions> kTable = [] {
    ParamTable<BlendOptions> t("default");
    t.Int("k", &BlendOptions::k, 1, 1000, "cut-off of the NDCG each arm is judged by")
        .Int("depth", &BlendOptions::depth, 1, 10000,
             "items each arm offers the fused arm (and the judged depth of the fused list)")
        .Double("half_life", &BlendOptions::half_life, 1, 1e12,
                "judged events of a segment after which an outcome weighs half: lower follows "
                "a changing winner faster, higher is steadier")
        .Double("prior", &BlendOptions::prior, 0, 1e9,
                "pseudo-events that shrink a segment's record towards the record over all "
                "segments (thin segments borrow strength)")
        .Double("judge", &BlendOptions::judge, 0, 1,
                "share of users' new positive items judged by every arm (each judgement costs "
                "one ranking per arm); 0 freezes the choice")
        .Bool("fusion", &BlendOptions::fusion,
              "offer the fused arms fusion1, fusion2, fusion4 (reciprocal-rank fusions of the "
              "others' lists, each arm weighted by its record to the power 1, 2 or 4)")
        .Double("fusion_c", &BlendOptions::fusion_c, 0, 1e6,
                "rank offset of the fusion: lower trusts each arm's top items more")
        .Bool("refit", &BlendOptions::refit,
              "pre-training fits the arms again on all of the history after judging them on "
              "held-out items (0: the judged arms are kept and learn those items online, half "
              "the pre-training time)")
        .Int("seed", &BlendOptions::seed, 0, 9007199254740992.0, "seed of the judge sampling");
    return t;
  }();
  return kTable;
}

Result<std::unique_ptr<Blend>> Blend::Create(const BlendOptions& options,
                                             std::vector<ArmFactory> arms) {
  FLYWHEEL_RETURN_IF_ERROR(BlendParamTable().Validate(options));
  if (arms.empty() || arms.size() > kMaxChildren) {
    return Status::InvalidArgument("model default: 1 to " + std::to_string(kMaxChildren) +
                                   " arms, got " + std::to_string(arms.size()));
  }
  Arms children;
  for (const ArmFactory& make : arms) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> child, make());
    children.push_back(std::move(child));
  }
  return std::unique_ptr<Blend>(new Blend(options, std::move(arms), std::move(children)));
}

Blend::Blend(const BlendOptions& options, std::vector<ArmFactory> factories, Arms children)
    : options_(options),
      decay_(std::exp2(-1.0 / options.half_life)),
      factories_(std::move(factories)),
      children_(std::move(children)) {
  for (const auto& child : children_) {
    arm_names_.push_back(child->name());
  }
  if (options_.fusion) {
    for (double power : kFusionPowers) {
      arm_names_.push_back("fusion" + std::to_string(static_cast<int>(power)));
    }
  }
}

KeyValues Blend::params() const {
  KeyValues out = BlendParamTable().Values(options_);
  for (const auto& child : children_) {
    for (const auto& [key, value] : child->params()) {
      out.emplace_back(child->name() + "." + key, value);
    }
  }
  return out;
}

KeyValues Blend::diagnostics() const {
  KeyValues out;
  out.emplace_back("judged", std::to_string(judged_));
  for (int s = 0; s < kSegments; ++s) {
    std::string text = arm_names_[ChosenArm(s)];
    char buf[64];
    std::snprintf(buf, sizeof(buf), " (%.0f judged:", count_[s]);
    text += buf;
    for (size_t a = 0; a < num_arms(); ++a) {
      std::snprintf(buf, sizeof(buf), " %s %.4f", arm_names_[a].c_str(), RecordMean(s, a));
      text += buf;
    }
    out.emplace_back("segment" + std::to_string(s), text + ")");
  }
  return out;
}

int Blend::Segment(size_t distinct_items) {
  return std::min(kSegments - 1, static_cast<int>(std::bit_width(distinct_items)));
}

double Blend::RecordMean(int segment, size_t arm) const {
  double all_gain = 0;
  double all_count = 0;
  for (int s = 0; s < kSegments; ++s) {
    all_gain += gain_[s][arm];
    all_count += count_[s];
  }
  const double global = all_count > 0 ? all_gain / all_count : 0.0;
  const double denominator = count_[segment] + options_.prior;
  return denominator > 0 ? (gain_[segment][arm] + options_.prior * global) / denominator : 0.0;
}

size_t Blend::ChosenArm(int segment) const {
  // Preference on ties: the children from the last (popularity) to the first (the sequential
  // model), then the fused arms: with no record yet, a new user gets popularity.
  const size_t children = children_.size();
  size_t best = children - 1;
  double best_mean = RecordMean(segment, best);
  for (size_t i = 1; i < num_arms(); ++i) {
    const size_t arm = i < children ? children - 1 - i : i;
    const double mean = RecordMean(segment, arm);
    if (mean > best_mean) {
      best = arm;
      best_mean = mean;
    }
  }
  return best;
}

void Blend::ChildLists(const Arms& arms, const RecommendRequest& request, int depth,
                       std::vector<std::vector<ScoredItem>>* lists) {
  RecommendRequest deep = request;
  deep.k = depth;
  for (size_t c = 0; c < arms.size(); ++c) {
    arms[c]->Recommend(deep, &(*lists)[c]);
  }
}

void Blend::RankLists(const std::vector<std::vector<ScoredItem>>& lists, std::vector<Ranked>* out) {
  thread_local std::unordered_map<ItemIdx, size_t> slot;
  slot.clear();
  out->clear();
  for (size_t c = 0; c < lists.size(); ++c) {
    for (size_t r = 0; r < lists[c].size(); ++r) {
      const auto [it, fresh] = slot.emplace(lists[c][r].item, out->size());
      if (fresh) {
        out->push_back(Ranked{lists[c][r].item, {}});
      }
      (*out)[it->second].rank[c] = static_cast<int>(r) + 1;
    }
  }
}

void Blend::Fuse(const std::vector<Ranked>& ranked, int segment, double power, int k,
                 std::vector<ScoredItem>* out) const {
  std::array<double, kMaxChildren> weight{};
  double total = 0;
  for (size_t c = 0; c < children_.size(); ++c) {
    weight[c] = std::pow(std::max(0.0, RecordMean(segment, c)), power);
    total += weight[c];
  }
  if (total <= 0) {
    std::fill(weight.begin(), weight.begin() + static_cast<long>(children_.size()), 1.0);
  }
  out->clear();
  for (const Ranked& r : ranked) {
    double score = 0;
    for (size_t c = 0; c < children_.size(); ++c) {
      if (r.rank[c] > 0) {
        score += weight[c] / (options_.fusion_c + r.rank[c]);
      }
    }
    out->push_back(ScoredItem{r.item, static_cast<float>(score)});
  }
  const size_t n = std::min(out->size(), static_cast<size_t>(k));
  std::partial_sort(out->begin(), out->begin() + static_cast<long>(n), out->end(),
                    [](const ScoredItem& a, const ScoredItem& b) {
                      return a.score != b.score ? a.score > b.score : a.item < b.item;
                    });
  out->resize(n);
}

void Blend::Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const {
  const int segment = Segment(request.user_state->seen_items().size());
  const size_t arm = ChosenArm(segment);
  if (arm < children_.size()) {
    children_[arm]->Recommend(request, out);
    return;
  }
  auto& lists = ScratchLists(children_.size());
  ChildLists(children_, request, std::max(options_.depth, request.k), &lists);
  thread_local std::vector<Ranked> ranked;
  RankLists(lists, &ranked);
  Fuse(ranked, segment, kFusionPowers[arm - children_.size()], request.k, out);
}

void Blend::Record(int segment, const std::array<double, kMaxArms>& gains) {
  count_[segment] = count_[segment] * decay_ + 1.0;
  for (size_t a = 0; a < num_arms(); ++a) {
    gain_[segment][a] = gain_[segment][a] * decay_ + gains[a];
  }
  ++judged_;
}

bool Blend::ShouldJudge(const Arms& arms, const data::Interaction& event, const UserState& user) {
  if (event.weight <= 0 || options_.judge <= 0 || user.HasSeen(event.item) ||
      std::none_of(arms.begin(), arms.end(),
                   [&](const auto& arm) { return event.item < arm->num_items(); })) {
    return false;
  }
  if (options_.judge >= 1) {
    return true;
  }
  const uint64_t draw = base::Mix64(options_.seed ^ base::Mix64(judge_draws_++));
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < options_.judge;
}

void Blend::Judge(const Arms& arms, const data::Interaction& event, const UserState& user) {
  RecommendRequest request;
  request.user = event.user;
  request.now_ms = event.ts_ms;
  request.user_state = &user;
  request.exclude = user.seen_items();
  const int segment = Segment(user.seen_items().size());
  auto& lists = ScratchLists(arms.size());
  ChildLists(arms, request, options_.fusion ? std::max(options_.depth, options_.k) : options_.k,
             &lists);
  std::array<double, kMaxArms> gains{};
  for (size_t c = 0; c < arms.size(); ++c) {
    gains[c] = Gain(RankIn(lists[c], event.item, options_.k));
  }
  if (options_.fusion) {
    thread_local std::vector<Ranked> ranked;
    thread_local std::vector<ScoredItem> fused;
    RankLists(lists, &ranked);  // once for the three weightings
    for (size_t f = 0; f < kFusionPowers.size(); ++f) {
      Fuse(ranked, segment, kFusionPowers[f], options_.k, &fused);
      gains[arms.size() + f] = Gain(RankIn(fused, event.item, options_.k));
    }
  }
  Record(segment, gains);
}

void Blend::Observe(const data::Interaction& event, const UserState& user) {
  if (ShouldJudge(children_, event, user)) {
    Judge(children_, event, user);
  }
  for (const auto& child : children_) {
    child->Observe(event, user);
  }
}

Result<std::vector<bool>> Blend::JudgeHeldOut(std::span<const data::Interaction> history,
                                              Arms* probes) {
  // Held out: each user's last new positive item, for users with at least two.
  std::unordered_map<UserIdx, std::unordered_set<ItemIdx>> seen;
  std::unordered_map<UserIdx, size_t> last_new;
  for (size_t i = 0; i < history.size(); ++i) {
    const auto& e = history[i];
    if (e.weight > 0 && seen[e.user].insert(e.item).second) {
      last_new[e.user] = i;
    }
  }
  std::vector<bool> held(history.size(), false);
  for (const auto& [user, index] : last_new) {
    held[index] = seen[user].size() >= 2;
  }
  seen.clear();
  std::vector<data::Interaction> train;
  train.reserve(history.size());
  for (size_t i = 0; i < history.size(); ++i) {
    if (!held[i]) {
      train.push_back(history[i]);
    }
  }
  probes->clear();
  for (const ArmFactory& make : factories_) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> probe, make());
    for (ItemIdx item = 0; item < content_.size(); ++item) {
      if (content_[item].has_value()) {
        probe->SetItemContent(item, *content_[item]);
      }
    }
    FLYWHEEL_RETURN_IF_ERROR(probe->Fit(train));
    probes->push_back(std::move(probe));
  }
  train = {};
  UserStateStore users;
  for (size_t i = 0; i < history.size(); ++i) {
    UserState& state = users.Get(history[i].user);
    if (held[i] && ShouldJudge(*probes, history[i], state)) {
      Judge(*probes, history[i], state);
    }
    state.Add(history[i]);
  }
  return held;
}

Status Blend::Fit(std::span<const data::Interaction> history) {
  Arms probes;
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<bool> held, JudgeHeldOut(history, &probes));
  if (options_.refit) {
    probes.clear();
    for (const auto& child : children_) {
      FLYWHEEL_RETURN_IF_ERROR(child->Fit(history));
    }
    return Status::Ok();
  }
  // Without a refit the probes become the arms and learn the held-out items online.
  children_ = std::move(probes);
  UserStateStore users;
  for (size_t i = 0; i < history.size(); ++i) {
    UserState& state = users.Get(history[i].user);
    if (held[i]) {
      for (const auto& child : children_) {
        child->Observe(history[i], state);
      }
    }
    state.Add(history[i]);
  }
  return Status::Ok();
}

void Blend::ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                             std::span<const float> weights, TimestampMs now_ms,
                             const UserState& state) {
  for (const auto& child : children_) {
    child->ObserveNegatives(user, items, weights, now_ms, state);
  }
}

size_t Blend::num_items() const {
  size_t n = 0;
  for (const auto& child : children_) {
    n = std::max(n, child->num_items());
  }
  return n;
}

void Blend::SetItemContent(ItemIdx item, const Item& content) {
  if (content_.size() <= item) {
    content_.resize(static_cast<size_t>(item) + 1);
  }
  content_[item] = content;  // for the arms Fit makes afresh
  for (const auto& child : children_) {
    child->SetItemContent(item, content);
  }
}

std::vector<std::pair<ItemIdx, float>> Blend::RecentAttribution(
    const RecommendRequest& request) const {
  const size_t arm = ChosenArm(Segment(request.user_state->seen_items().size()));
  if (arm < children_.size()) {
    return children_[arm]->RecentAttribution(request);
  }
  return children_[0]->RecentAttribution(request);
}

void Blend::ForgetUser(UserIdx user) {
  for (const auto& child : children_) {
    child->ForgetUser(user);
  }
}

Status Blend::SaveState(base::ByteWriter* out) const {
  out->Put<uint32_t>(kStateVersion);
  out->Put<uint32_t>(static_cast<uint32_t>(children_.size()));
  for (const auto& child : children_) {
    std::string bytes;
    base::ByteWriter child_out(&bytes);
    FLYWHEEL_RETURN_IF_ERROR(child->SaveState(&child_out));
    out->PutString(child->name());
    out->PutString(bytes);
  }
  out->Put<uint32_t>(static_cast<uint32_t>(num_arms()));
  for (int s = 0; s < kSegments; ++s) {
    out->Put<double>(count_[s]);
    for (size_t a = 0; a < num_arms(); ++a) {
      out->Put<double>(gain_[s][a]);
    }
  }
  out->Put<int64_t>(judged_);
  out->Put<uint64_t>(judge_draws_);
  return Status::Ok();
}

Status Blend::LoadState(base::ByteReader* in) {
  uint32_t version = 0;
  uint32_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "default: version"));
  if (version != kStateVersion) {
    return Status::Corruption("default: unknown state version " + std::to_string(version));
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "default: arms"));
  if (n != children_.size()) {
    return Status::Corruption("default: state has " + std::to_string(n) + " child models, not " +
                              std::to_string(children_.size()));
  }
  for (const auto& child : children_) {
    std::string name;
    std::string bytes;
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&name, "default: child name"));
    FLYWHEEL_RETURN_IF_ERROR(in->GetString(&bytes, "default: child state"));
    if (name != child->name()) {
      return Status::Corruption("default: state of child '" + name + "', expected '" +
                                child->name() + "'");
    }
    base::ByteReader child_in(bytes, "default." + name);
    FLYWHEEL_RETURN_IF_ERROR(child->LoadState(&child_in));
    FLYWHEEL_RETURN_IF_ERROR(child_in.ExpectEnd());
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "default: record arms"));
  if (n != num_arms()) {
    return Status::Corruption("default: record of " + std::to_string(n) + " arms, not " +
                              std::to_string(num_arms()));
  }
  for (int s = 0; s < kSegments; ++s) {
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&count_[s], "default: record"));
    for (size_t a = 0; a < num_arms(); ++a) {
      FLYWHEEL_RETURN_IF_ERROR(in->Get(&gain_[s][a], "default: record"));
    }
    const bool finite = std::all_of(gain_[s].begin(), gain_[s].end(),
                                    [](double g) { return std::isfinite(g) && g >= 0; });
    if (!finite || !std::isfinite(count_[s]) || count_[s] < 0) {
      return Status::Corruption("default: bad record count");
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&judged_, "default: judged"));
  return in->Get(&judge_draws_, "default: judge draws");
}

}  // namespace flywheel::model
