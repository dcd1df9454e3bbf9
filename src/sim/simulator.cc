#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "base/time_util.h"
#include "engine/serve/policy.h"

namespace flywheel::sim {
namespace {

uint64_t Key(int user, int item) {
  return (static_cast<uint64_t>(user) << 32) | static_cast<uint32_t>(item);
}

// Stream ids of the independent random streams.
constexpr uint64_t kArrivalStream = 0xA441'7A15ULL;
constexpr uint64_t kWarmupStream = 0x3A43'0F11ULL;
constexpr uint64_t kDayStream = 0xDA75'0000ULL;
constexpr uint64_t kRequestStream = 0x5E55'1000ULL;

base::Rng Stream(uint64_t seed, uint64_t stream, uint64_t index) {
  return base::Rng(base::Mix64(base::Mix64(seed ^ stream) + index));
}

// Delay of a click on position p after the list was shown, and of a purchase after its click.
constexpr TimestampMs kClickDelayMs = 2'000;
constexpr TimestampMs kPurchaseDelayMs = 60'000;

nlohmann::json Percentiles(std::vector<double> ms) {
  if (ms.empty()) {
    return nlohmann::json::object();
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double x : ms) {
    sum += x;
  }
  auto at = [&](double q) {
    return ms[static_cast<size_t>(q * static_cast<double>(ms.size() - 1))];
  };
  return {{"calls", ms.size()},
          {"mean", sum / static_cast<double>(ms.size())},
          {"p50", at(0.5)},
          {"p90", at(0.9)},
          {"p99", at(0.99)}};
}

}  // namespace

Result<CounterfactualTarget> ParseCounterfactual(const std::string& spec) {
  Result<engine::ModelPolicy> split = engine::SplitModelPolicy(spec);
  if (!split.ok()) {
    return Status::InvalidArgument("simulate: --counterfactual '" + spec +
                                   "': " + split.status().message());
  }
  return CounterfactualTarget{spec, split->model, split->policy};
}

Simulator::Simulator(SimOptions options, World world, SimTarget* target)
    : options_(std::move(options)), world_(std::move(world)), target_(target) {
  clicked_.resize(world_.num_users());
  counterfactual_.resize(options_.counterfactuals.size());
}

// Each counterfactual target's list for this request, on the state the logged list is served
// from; its expected reward under the true model (fatigue included), as the served list's.
Status Simulator::RunCounterfactuals(int user, TimestampMs now_ms, double reward_per_click) {
  for (size_t j = 0; j < options_.counterfactuals.size(); ++j) {
    const CounterfactualTarget& c = options_.counterfactuals[j];
    RequestSpec request{world_.user(user).id, options_.k, c.policy, c.model, now_ms, false};
    Result<ServedList> list = target_->Recommend(request);
    if (!list.ok()) {
      return Status(list.status().code(),
                    "simulate: counterfactual '" + c.label + "': " + list.status().message());
    }
    std::vector<int> indices;
    for (const ServedItem& served : list->items) {
      indices.push_back(world_.FindItem(served.item));
    }
    const std::vector<double> probs = ClickProbs(user, indices);
    CounterfactualSums& sums = counterfactual_[j];
    ++sums.lists;
    sums.expected_reward += world_.ExpectedReward(probs, reward_per_click);
    for (const double m : world_.ClickMarginals(probs)) {
      sums.expected_clicks += m;
    }
  }
  return Status::Ok();
}

nlohmann::json Simulator::CounterfactualLabels() const {
  nlohmann::json out = nlohmann::json::array();
  for (const CounterfactualTarget& c : options_.counterfactuals) {
    out.push_back(c.label);
  }
  return out;
}

nlohmann::json Simulator::CounterfactualJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (size_t j = 0; j < counterfactual_.size(); ++j) {
    const CounterfactualSums& s = counterfactual_[j];
    const double n = s.lists > 0 ? static_cast<double>(s.lists) : 1.0;
    out.push_back({{"target", options_.counterfactuals[j].label},
                   {"lists", s.lists},
                   {"expected_reward", s.expected_reward},
                   {"reward_per_list", s.expected_reward / n},
                   {"clicks_per_list", s.expected_clicks / n}});
  }
  return out;
}

int Simulator::ShownBefore(int user, int item) const {
  auto it = shown_.find(Key(user, item));
  return it == shown_.end() ? 0 : it->second;
}

std::vector<double> Simulator::ClickProbs(int user, const std::vector<int>& indices) const {
  std::vector<double> probs(indices.size(), 0.0);
  for (size_t p = 0; p < indices.size(); ++p) {
    if (indices[p] >= 0) {
      probs[p] = world_.ClickProb(user, indices[p], ShownBefore(user, indices[p]));
    }
  }
  return probs;
}

std::vector<int> Simulator::OracleList(int user) const {
  std::vector<std::pair<double, int>> scored;
  scored.reserve(world_.num_items());
  const std::unordered_set<int>& seen = clicked_[user];
  for (int i = 0; i < world_.num_items(); ++i) {
    if (seen.count(i) == 0) {
      scored.emplace_back(world_.ClickProb(user, i, ShownBefore(user, i)), i);
    }
  }
  const size_t k = std::min(scored.size(), static_cast<size_t>(options_.k));
  // Highest probability first; ties by index (deterministic).
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  std::vector<int> out;
  for (size_t n = 0; n < k; ++n) {
    out.push_back(scored[n].second);
  }
  return out;
}

Status Simulator::PutItems(int first, int count) {
  std::vector<Item> items;
  items.reserve(count);
  for (int i = first; i < first + count; ++i) {
    const SimItem& sim_item = world_.item(i);
    Item item;
    item.id = sim_item.id;
    if (!sim_item.category.empty()) {
      item.categories.push_back(sim_item.category);
    }
    item.created_ms = sim_item.arrived_ms;
    items.push_back(std::move(item));
  }
  return target_->PutItems(items);
}

Status Simulator::WarmUp() {
  // Organic discovery before day 1: users browse by popularity and click what they like.
  const int initial = world_.num_items();
  if (options_.warmup_clicks <= 0 || initial == 0) {
    return Status::Ok();
  }
  std::vector<double> cumulative(initial);
  double total = 0;
  for (int i = 0; i < initial; ++i) {
    total += world_.item(i).popularity;
    cumulative[i] = total;
  }
  base::Rng rng = Stream(options_.seed, kWarmupStream, 0);
  std::vector<Event> events;
  for (int u = 0; u < world_.num_users(); ++u) {
    int clicks = 0;
    for (int attempt = 0; attempt < 40 * options_.warmup_clicks && clicks < options_.warmup_clicks;
         ++attempt) {
      const double r = rng.UniformDouble() * total;
      const int i = static_cast<int>(std::upper_bound(cumulative.begin(), cumulative.end(), r) -
                                     cumulative.begin());
      const int item = std::min(i, initial - 1);
      if (clicked_[u].count(item) != 0 || !rng.Bernoulli(world_.Attraction(u, item))) {
        continue;
      }
      clicked_[u].insert(item);
      ++clicks;
      Event event;
      event.user = world_.user(u).id;
      event.item = world_.item(item).id;
      event.type = "click";
      event.ts_ms = options_.start_ms - kDayMs + static_cast<TimestampMs>(rng.Uniform(kDayMs));
      event.id = "sim" + std::to_string(options_.seed) + "-w" + std::to_string(u) + "-" +
                 std::to_string(clicks);
      events.push_back(std::move(event));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.ts_ms < b.ts_ms; });
  constexpr size_t kBatch = 1000;
  for (size_t from = 0; from < events.size(); from += kBatch) {
    const size_t n = std::min(kBatch, events.size() - from);
    FLYWHEEL_RETURN_IF_ERROR(target_->SendEvents(std::span<const Event>(events).subspan(from, n)));
  }
  return Status::Ok();
}

Result<ServedList> Simulator::FetchList(int user, TimestampMs now_ms, std::vector<int>* indices) {
  indices->clear();
  if (options_.policy == kOraclePolicy) {
    ServedList list;
    list.policy = kOraclePolicy;
    *indices = OracleList(user);
    for (int i : *indices) {
      list.items.push_back({world_.item(i).id, 1.0});
    }
    return list;
  }
  RequestSpec request{world_.user(user).id,       options_.k, options_.policy, "", now_ms,
                      options_.record_impressions};
  FLYWHEEL_ASSIGN_OR_RETURN(ServedList list, target_->Recommend(request));
  recommend_ms_.push_back(list.call_ms);
  if (!options_.record_impressions) {
    list.recommendation_id.clear();  // no implicit impression through the events either
  }
  for (const ServedItem& served : list.items) {
    const int i = world_.FindItem(served.item);
    unknown_items_ += i < 0 ? 1 : 0;
    indices->push_back(i);
  }
  return list;
}

std::vector<Event> Simulator::Outcomes(int64_t index, int user, const std::vector<int>& indices,
                                       const Session& session, const ServedList& list,
                                       TimestampMs now_ms) const {
  std::vector<Event> events;
  for (size_t p = 0; p < indices.size(); ++p) {
    if (session.clicked[p] == 0 || indices[p] < 0) {
      continue;
    }
    Event click;
    click.user = world_.user(user).id;
    click.item = world_.item(indices[p]).id;
    click.type = "click";
    click.ts_ms = now_ms + kClickDelayMs * static_cast<TimestampMs>(p + 1);
    click.id = "sim" + std::to_string(options_.seed) + "-" + std::to_string(index) + "-" +
               std::to_string(p);
    click.recommendation_id = list.recommendation_id;
    events.push_back(click);
    if (session.bought[p] != 0) {
      Event buy = click;
      buy.type = "purchase";
      buy.ts_ms = click.ts_ms + kPurchaseDelayMs;
      buy.id += "-b";
      events.push_back(std::move(buy));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.ts_ms < b.ts_ms; });
  return events;
}

void Simulator::Account(int user, const std::vector<int>& indices, const Session& session,
                        TimestampMs now_ms, PeriodStats* stats) {
  bool any = false;
  for (size_t p = 0; p < indices.size(); ++p) {
    const int item = indices[p];
    ++stats->shown;
    if (item < 0) {
      continue;
    }
    stats->distinct_shown.insert(item);
    overall_.distinct_shown.insert(item);
    ++shown_[Key(user, item)];
    if (session.clicked[p] == 0) {
      continue;
    }
    any = true;
    ++stats->clicks;
    stats->reward += options_.click_weight;
    if (session.bought[p] != 0) {
      ++stats->purchases;
      stats->reward += options_.purchase_weight;
    }
    clicked_[user].insert(item);
    if (first_click_.Clicked(item, now_ms + kClickDelayMs * static_cast<TimestampMs>(p + 1))) {
      ++stats->new_item_first_clicks;
    }
  }
  stats->lists_clicked += any ? 1 : 0;
}

Status Simulator::RunRequest(int64_t index, int user, TimestampMs now_ms, PeriodStats* stats) {
  const double reward_per_click =
      options_.click_weight + world_.options().buy_prob * options_.purchase_weight;
  const std::vector<int> oracle = OracleList(user);
  stats->oracle_expected_reward +=
      world_.ExpectedReward(ClickProbs(user, oracle), reward_per_click);
  FLYWHEEL_RETURN_IF_ERROR(RunCounterfactuals(user, now_ms, reward_per_click));
  std::vector<int> indices;
  Result<ServedList> list = FetchList(user, now_ms, &indices);
  ++stats->requests;
  if (!list.ok()) {
    if (list.status().code() != StatusCode::kUnavailable) {
      return list.status();
    }
    ++stats->failed_requests;  // an overloaded server: nothing shown, the regret counts
    return Status::Ok();
  }
  const std::vector<double> probs = ClickProbs(user, indices);
  stats->expected_reward += world_.ExpectedReward(probs, reward_per_click);
  if (options_.policy != kOraclePolicy && options_.record_impressions) {
    FLYWHEEL_RETURN_IF_ERROR(target_->RecordImpression(world_.user(user).id, *list, now_ms));
  }
  base::Rng rng = Stream(options_.seed, kRequestStream, static_cast<uint64_t>(index));
  const Session session = SampleSession(world_, probs, rng);
  Account(user, indices, session, now_ms, stats);
  const std::vector<Event> events = Outcomes(index, user, indices, session, *list, now_ms);
  return target_->SendEvents(events);
}

Status Simulator::RunDay(int day, PeriodStats* stats) {
  const TimestampMs day_start = options_.start_ms + kDayMs * (day - 1);
  base::Rng day_rng = Stream(options_.seed, kDayStream, static_cast<uint64_t>(day));
  if (day > 1) {
    world_.Drift(day_rng);
  }
  stats->day = day;
  if (options_.new_items_per_day > 0) {
    const int first = world_.AddItems(options_.new_items_per_day, day, day_start, day_rng);
    for (int i = first; i < world_.num_items(); ++i) {
      first_click_.Arrived(i, day_start);
    }
    stats->new_items = options_.new_items_per_day;
    FLYWHEEL_RETURN_IF_ERROR(PutItems(first, options_.new_items_per_day));
  }
  clicked_.resize(world_.num_users());
  // Poisson arrivals: exponential gaps of mean day / rate; each arrival a uniform user.
  base::Rng arrivals = Stream(options_.seed, kArrivalStream, static_cast<uint64_t>(day));
  const double gap_ms = static_cast<double>(kDayMs) / options_.requests_per_day;
  double t = static_cast<double>(day_start) + arrivals.Exponential(gap_ms);
  while (t < static_cast<double>(day_start + kDayMs)) {
    const int user = static_cast<int>(arrivals.Uniform(world_.num_users()));
    FLYWHEEL_RETURN_IF_ERROR(RunRequest(next_request_++, user, static_cast<TimestampMs>(t), stats));
    t += arrivals.Exponential(gap_ms);
  }
  stats->catalogue = world_.num_items();
  return Status::Ok();
}

Result<Report> Simulator::Run() {
  const auto start = std::chrono::steady_clock::now();
  if (options_.days < 1 || options_.k < 1 || options_.requests_per_day <= 0 ||
      world_.num_users() == 0 || world_.num_items() == 0) {
    return Status::InvalidArgument(
        "simulate: days, k, requests per day, users and items must be positive");
  }
  FLYWHEEL_RETURN_IF_ERROR(PutItems(0, world_.num_items()));
  FLYWHEEL_RETURN_IF_ERROR(WarmUp());
  Report report;
  report.config = ConfigJson();
  for (int day = 1; day <= options_.days; ++day) {
    PeriodStats stats;
    FLYWHEEL_RETURN_IF_ERROR(RunDay(day, &stats));
    overall_.requests += stats.requests;
    overall_.failed_requests += stats.failed_requests;
    overall_.shown += stats.shown;
    overall_.clicks += stats.clicks;
    overall_.purchases += stats.purchases;
    overall_.lists_clicked += stats.lists_clicked;
    overall_.reward += stats.reward;
    overall_.expected_reward += stats.expected_reward;
    overall_.oracle_expected_reward += stats.oracle_expected_reward;
    overall_.new_item_first_clicks += stats.new_item_first_clicks;
    report.days.push_back(std::move(stats));
  }
  overall_.catalogue = world_.num_items();
  report.overall = overall_;
  report.first_click = first_click_.Summarise(options_.start_ms + kDayMs * options_.days);
  const TargetCounters c = target_->counters();
  report.target = {{"describe", target_->Describe()},
                   {"recommend_calls", c.recommend_calls},
                   {"impression_calls", c.impression_calls},
                   {"impressions_duplicate", c.impressions_duplicate},
                   {"impressions_unsupported", c.impressions_unsupported},
                   {"event_batches", c.event_batches},
                   {"events_sent", c.events_sent},
                   {"item_batches", c.item_batches},
                   {"unknown_items", unknown_items_}};
  if (c.log_bytes >= 0) {
    report.target["log_bytes"] = c.log_bytes;
  }
  report.recommend_ms = Percentiles(recommend_ms_);
  if (!counterfactual_.empty()) {
    report.counterfactual = CounterfactualJson();
  }
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

nlohmann::json Simulator::ConfigJson() const {
  const WorldOptions& w = world_.options();
  return {{"seed", options_.seed},
          {"days", options_.days},
          {"requests_per_day", options_.requests_per_day},
          {"k", options_.k},
          {"policy", options_.policy},
          {"start", base::FormatIso8601(options_.start_ms)},
          {"users", world_.num_users()},
          {"items", w.items},
          {"new_items_per_day", options_.new_items_per_day},
          {"warmup_clicks", options_.warmup_clicks},
          {"examination", ExaminationName(w.examination)},
          {"eta", w.eta},
          {"dim", w.dim},
          {"click_scale", w.click_scale},
          {"click_bias", w.click_bias},
          {"buy_prob", w.buy_prob},
          {"fatigue", w.fatigue},
          {"drift", w.drift},
          {"record_impressions", options_.record_impressions},
          {"record_in_call", options_.record_in_call},
          {"click_weight", options_.click_weight},
          {"purchase_weight", options_.purchase_weight},
          {"counterfactual", CounterfactualLabels()}};
}

}  // namespace flywheel::sim
