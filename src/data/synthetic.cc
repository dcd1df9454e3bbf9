#include "data/synthetic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <string_view>
#include <utility>

#include "base/check.h"
#include "base/random.h"
#include "base/strings.h"
#include "base/time_util.h"
#include "data/synthetic_options_internal.h"
#include "data/zipf.h"

namespace flywheel::data {
namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Behaviour of the simulated users (see the model in synthetic.h).
constexpr double kDominantMass = 0.8;         // share of cluster choices on dominant clusters
constexpr double kTwoDominantProb = 0.35;     // share of users with two dominant clusters
constexpr double kSecondDominantShare = 0.4;  // of the dominant mass, for those users
constexpr double kStayInCluster = 0.8;        // next item of a session keeps the cluster
constexpr double kFollowUp = 0.25;            // next item is the previous item's follow-up
constexpr double kUserActivityZipf = 0.5;     // heavy-tailed activity over users
constexpr int64_t kMaxOpenSessions = 16;
constexpr int kRecentItems = 8;   // items a user does not repeat soon (small ring per user)
constexpr int kNoveltyTries = 3;  // draws spent on avoiding a recent item before repeating it
constexpr int kTagsPerCluster = 8;

// Salts that give each random stream of the generator its own seed.
constexpr uint64_t kWorldSalt = 0x5753594E54484554ULL;
constexpr uint64_t kStreamSalt = 0x53545245414D3031ULL;
constexpr uint64_t kMetaSalt = 0x4D455441444154ULL;

std::vector<uint32_t> ShuffledIota(size_t n, base::Rng& rng) {
  std::vector<uint32_t> values(n);
  std::iota(values.begin(), values.end(), 0U);
  for (size_t i = n; i > 1; --i) {
    std::swap(values[i - 1], values[rng.Uniform(i)]);
  }
  return values;
}

// "<prefix><n>" into *out, reusing its capacity.
void FormatId(char prefix, uint64_t n, std::string* out) {
  char buf[24];
  buf[0] = prefix;
  const auto [end, ec] = std::to_chars(buf + 1, buf + sizeof(buf), n);
  out->assign(buf, end);
}

// The item side of the world; immutable once built.
struct Catalog {
  std::vector<uint32_t> cluster;          // per item
  std::vector<TimestampMs> created_ms;    // per item; non-decreasing in the item index
  std::vector<uint32_t> successor;        // per item: its follow-up, in the same cluster
  std::vector<uint32_t> cluster_begin;    // per cluster + 1: offsets into `members`
  std::vector<uint32_t> members;          // items grouped by cluster, ascending within one
  std::vector<PrefixSampler> popularity;  // per cluster: Zipf weights of its members
  PrefixSampler cluster_popularity;       // over clusters: total popularity of each
};

// Items 0..initial-1 exist at start_ms; the rest arrive in index order, uniformly over the
// expected span of the stream.
std::vector<TimestampMs> CreationTimes(const SyntheticOptions& o, base::Rng& rng) {
  const int64_t arriving = std::min<int64_t>(
      o.items - 1, std::llround(o.new_item_fraction * static_cast<double>(o.items)));
  const int64_t initial = o.items - arriving;
  std::vector<TimestampMs> created(static_cast<size_t>(o.items), o.start_ms);
  const double span = static_cast<double>(o.events) * o.mean_gap_seconds * 1000.0;
  const uint64_t span_ms = static_cast<uint64_t>(std::max(1.0, std::min(span, 1e17)));
  for (int64_t i = initial; i < o.items; ++i) {
    created[static_cast<size_t>(i)] = o.start_ms + 1 + static_cast<int64_t>(rng.Uniform(span_ms));
  }
  std::sort(created.begin() + initial, created.end());
  return created;
}

void GroupByCluster(size_t clusters, Catalog* catalog) {
  catalog->cluster_begin.assign(clusters + 1, 0);
  for (uint32_t c : catalog->cluster) {
    ++catalog->cluster_begin[c + 1];
  }
  std::partial_sum(catalog->cluster_begin.begin(), catalog->cluster_begin.end(),
                   catalog->cluster_begin.begin());
  std::vector<uint32_t> fill(catalog->cluster_begin.begin(), catalog->cluster_begin.end() - 1);
  catalog->members.resize(catalog->cluster.size());
  for (uint32_t item = 0; item < catalog->cluster.size(); ++item) {
    catalog->members[fill[catalog->cluster[item]]++] = item;
  }
}

void BuildPopularity(const SyntheticOptions& o, base::Rng& rng, Catalog* catalog) {
  const std::vector<uint32_t> rank = ShuffledIota(catalog->cluster.size(), rng);
  std::vector<double> cluster_totals;
  for (size_t c = 0; c + 1 < catalog->cluster_begin.size(); ++c) {
    std::vector<double> weights;
    for (uint32_t pos = catalog->cluster_begin[c]; pos < catalog->cluster_begin[c + 1]; ++pos) {
      weights.push_back(ZipfWeight(rank[catalog->members[pos]], o.zipf));
    }
    catalog->popularity.emplace_back(weights);
    cluster_totals.push_back(catalog->popularity.back().PrefixTotal(weights.size()));
  }
  catalog->cluster_popularity = PrefixSampler(cluster_totals);
}

// Each item's follow-up: another item of its cluster, drawn once by popularity (so follow-ups
// keep the catalogue's popularity profile).
void BuildSuccessors(base::Rng& rng, Catalog* catalog) {
  catalog->successor.resize(catalog->cluster.size());
  for (uint32_t item = 0; item < catalog->cluster.size(); ++item) {
    const uint32_t c = catalog->cluster[item];
    const uint32_t begin = catalog->cluster_begin[c];
    const size_t size = catalog->cluster_begin[c + 1] - begin;
    size_t pos = catalog->popularity[c].Sample(rng.UniformDouble(), size);
    if (catalog->members[begin + pos] == item) {
      pos = (pos + 1) % size;
    }
    catalog->successor[item] = catalog->members[begin + pos];
  }
}

Catalog BuildCatalog(const SyntheticOptions& o, base::Rng& rng) {
  Catalog catalog;
  const auto items = static_cast<size_t>(o.items);
  catalog.cluster.resize(items);
  const std::vector<uint32_t> order = ShuffledIota(items, rng);
  for (size_t k = 0; k < items; ++k) {
    catalog.cluster[order[k]] = static_cast<uint32_t>(k % static_cast<size_t>(o.clusters));
  }
  catalog.created_ms = CreationTimes(o, rng);
  GroupByCluster(static_cast<size_t>(o.clusters), &catalog);
  BuildPopularity(o, rng, &catalog);
  BuildSuccessors(rng, &catalog);
  return catalog;
}

struct UserState {
  uint32_t dominant = 0;
  uint32_t second = kNone;             // second dominant cluster, if any
  uint32_t recent[kRecentItems] = {};  // ring of the last items, each stored as item + 1
  uint8_t recent_next = 0;             // ring position to overwrite next
  bool in_session = false;

  bool IsRecent(uint32_t item) const {
    return std::find(std::begin(recent), std::end(recent), item + 1) != std::end(recent);
  }
  void Remember(uint32_t item) {
    recent[recent_next] = item + 1;
    recent_next = static_cast<uint8_t>((recent_next + 1) % kRecentItems);
  }
  bool Likes(uint32_t cluster) const { return cluster == dominant || cluster == second; }
};

struct Session {
  uint32_t user = 0;
  uint32_t cluster = 0;
  uint32_t previous = kNone;  // last item of this session
};

class SyntheticReader final : public EventReader {
 public:
  explicit SyntheticReader(const SyntheticOptions& options);

  Result<bool> Next(Event* event) override;
  const std::vector<Item>& items() const override;
  bool time_ordered() const override { return true; }
  std::string default_positive() const override { return "types:click,cart,purchase"; }
  std::vector<std::string> notes() const override { return {DescribeSyntheticOptions(options_)}; }
  const ReadStats& stats() const override { return stats_; }

 private:
  uint32_t PickCluster(const UserState& user);
  uint32_t PickOtherCluster(uint32_t avoid, base::Rng& rng) const;
  void InitUsers(base::Rng& world);
  void StartSession(Session* session);
  void ReleaseItemsUpTo(TimestampMs ts);
  void DriftUsers();
  uint32_t NonEmptyCluster(uint32_t cluster) const;
  uint32_t DrawItem(const UserState& user, uint32_t cluster);
  uint32_t NextItem(Session* session);
  const char* PickType(const UserState& user, uint32_t cluster);
  Item MakeItem(uint32_t item) const;

  const SyntheticOptions options_;
  Catalog catalog_;
  std::vector<UserState> users_;
  PrefixSampler user_activity_;
  std::vector<Session> sessions_;
  base::Rng rng_;  // the event stream's randomness

  // Stream position.
  std::vector<uint32_t> available_;    // per cluster: members created so far (a prefix)
  uint32_t next_arrival_ = 0;          // first item not yet released
  double clock_ms_ = 0;                // time since start_ms
  std::vector<int64_t> drift_events_;  // event indices where drift happens, ascending
  size_t next_drift_ = 0;
  int64_t generated_ = 0;
  ReadStats stats_;
  mutable std::vector<Item> items_;  // built on the first items() call
};

SyntheticReader::SyntheticReader(const SyntheticOptions& options)
    : options_(options), rng_(base::Mix64(options.seed ^ kStreamSalt)) {
  base::Rng world(base::Mix64(options.seed ^ kWorldSalt));
  catalog_ = BuildCatalog(options_, world);
  InitUsers(world);
  available_.assign(static_cast<size_t>(options_.clusters), 0);
  ReleaseItemsUpTo(options_.start_ms);
  for (double fraction : options_.drift_at) {
    drift_events_.push_back(static_cast<int64_t>(fraction * static_cast<double>(options_.events)));
  }
  std::sort(drift_events_.begin(), drift_events_.end());
  const int64_t open = std::min(kMaxOpenSessions, std::max<int64_t>(1, options_.users / 2));
  sessions_.resize(static_cast<size_t>(open));
  for (Session& session : sessions_) {
    StartSession(&session);
  }
}

void SyntheticReader::InitUsers(base::Rng& world) {
  const auto users = static_cast<size_t>(options_.users);
  const std::vector<uint32_t> rank = ShuffledIota(users, world);
  std::vector<double> activity(users);
  users_.resize(users);
  for (size_t u = 0; u < users; ++u) {
    activity[u] = ZipfWeight(rank[u], kUserActivityZipf);
    UserState& user = users_[u];
    user.dominant = static_cast<uint32_t>(catalog_.cluster_popularity.Sample(
        world.UniformDouble(), catalog_.cluster_popularity.size()));
    if (options_.clusters > 1 && world.Bernoulli(kTwoDominantProb)) {
      user.second = PickOtherCluster(user.dominant, world);
    }
  }
  user_activity_ = PrefixSampler(activity);
}

// A cluster other than `avoid`, by popularity. REQUIRES: more than one cluster.
uint32_t SyntheticReader::PickOtherCluster(uint32_t avoid, base::Rng& rng) const {
  const size_t clusters = catalog_.cluster_popularity.size();
  for (int attempt = 0; attempt < 32; ++attempt) {
    const auto c =
        static_cast<uint32_t>(catalog_.cluster_popularity.Sample(rng.UniformDouble(), clusters));
    if (c != avoid) {
      return c;
    }
  }
  // Only when nearly all popularity sits in `avoid` (huge zipf): any other cluster.
  return static_cast<uint32_t>((avoid + 1 + rng.Uniform(clusters - 1)) % clusters);
}

uint32_t SyntheticReader::PickCluster(const UserState& user) {
  const double u = rng_.UniformDouble();
  if (u < kDominantMass) {
    const bool second = user.second != kNone && u < kDominantMass * kSecondDominantShare;
    return second ? user.second : user.dominant;
  }
  return static_cast<uint32_t>(
      catalog_.cluster_popularity.Sample(rng_.UniformDouble(), catalog_.cluster_popularity.size()));
}

void SyntheticReader::StartSession(Session* session) {
  users_[session->user].in_session = false;
  uint32_t user = 0;
  do {  // terminates: at most half of the users (or the only one) are in a session
    user = static_cast<uint32_t>(user_activity_.Sample(rng_.UniformDouble(), users_.size()));
  } while (users_[user].in_session);
  users_[user].in_session = true;
  session->user = user;
  session->cluster = PickCluster(users_[user]);
  session->previous = kNone;
}

void SyntheticReader::ReleaseItemsUpTo(TimestampMs ts) {
  while (next_arrival_ < catalog_.created_ms.size() && catalog_.created_ms[next_arrival_] <= ts) {
    ++available_[catalog_.cluster[next_arrival_]];
    ++next_arrival_;
  }
}

void SyntheticReader::DriftUsers() {
  if (options_.clusters < 2) {
    return;
  }
  for (UserState& user : users_) {
    if (!rng_.Bernoulli(options_.drift_user_fraction)) {
      continue;
    }
    const uint32_t fresh = PickOtherCluster(user.dominant, rng_);
    if (fresh == user.second) {
      user.second = user.dominant;
    }
    user.dominant = fresh;
  }
}

// `cluster` if it has an available item, else the next one that does (item 0 always exists).
uint32_t SyntheticReader::NonEmptyCluster(uint32_t cluster) const {
  while (available_[cluster] == 0) {
    cluster = (cluster + 1) % static_cast<uint32_t>(available_.size());
  }
  return cluster;
}

uint32_t SyntheticReader::DrawItem(const UserState& user, uint32_t cluster) {
  const uint32_t begin = catalog_.cluster_begin[cluster];
  uint32_t item = kNone;
  for (int attempt = 0; attempt < kNoveltyTries; ++attempt) {
    item = catalog_.members[begin + catalog_.popularity[cluster].Sample(rng_.UniformDouble(),
                                                                        available_[cluster])];
    if (!user.IsRecent(item)) {
      break;
    }
  }
  return item;
}

uint32_t SyntheticReader::NextItem(Session* session) {
  UserState& user = users_[session->user];
  uint32_t item = kNone;
  if (session->previous != kNone && rng_.Bernoulli(kFollowUp)) {
    const uint32_t follow = catalog_.successor[session->previous];
    if (follow < next_arrival_ && !user.IsRecent(follow)) {
      item = follow;
    }
  }
  if (item == kNone) {
    if (session->previous != kNone && !rng_.Bernoulli(kStayInCluster)) {
      session->cluster = PickCluster(user);
    }
    session->cluster = NonEmptyCluster(session->cluster);
    item = DrawItem(user, session->cluster);
  }
  user.Remember(item);
  session->previous = item;
  return item;
}

const char* SyntheticReader::PickType(const UserState& user, uint32_t cluster) {
  const double u = rng_.UniformDouble();
  if (user.Likes(cluster)) {
    return u < 0.04 ? "purchase" : u < 0.13 ? "cart" : u < 0.48 ? "click" : "view";
  }
  return u < 0.10   ? "skip"
         : u < 0.11 ? "purchase"
         : u < 0.14 ? "cart"
         : u < 0.40 ? "click"
                    : "view";
}

Result<bool> SyntheticReader::Next(Event* event) {
  if (generated_ >= options_.events) {
    return false;
  }
  while (next_drift_ < drift_events_.size() && drift_events_[next_drift_] <= generated_) {
    DriftUsers();
    ++next_drift_;
  }
  const TimestampMs ts = options_.start_ms + static_cast<TimestampMs>(clock_ms_);
  ReleaseItemsUpTo(ts);
  Session& session = sessions_[rng_.Uniform(sessions_.size())];
  const uint32_t item = NextItem(&session);
  FormatId('u', session.user, &event->user);
  FormatId('i', item, &event->item);
  event->type = PickType(users_[session.user], session.cluster);  // the item's cluster
  event->value = 1.0;
  event->ts_ms = ts;
  event->id.clear();
  event->context.clear();
  if (rng_.Bernoulli(1.0 / options_.mean_session_length)) {
    StartSession(&session);
  }
  clock_ms_ += rng_.Exponential(options_.mean_gap_seconds * 1000.0);
  ++generated_;
  stats_.lines = generated_;
  stats_.events = generated_;
  return true;
}

Item SyntheticReader::MakeItem(uint32_t index) const {
  static constexpr const char* kPriceBuckets[] = {"low", "mid", "high", "premium"};
  base::Rng rng(base::Mix64(options_.seed ^ kMetaSalt) + index);
  const uint32_t cluster = catalog_.cluster[index];
  const auto clusters = static_cast<uint32_t>(options_.clusters);
  Item item;
  FormatId('i', index, &item.id);
  item.title = "Item " + std::to_string(index);
  item.categories.push_back("c" + std::to_string(cluster));
  if (clusters > 1 && rng.Bernoulli(0.2)) {
    const uint32_t neighbour =
        rng.Bernoulli(0.5) ? (cluster + 1) % clusters : (cluster + clusters - 1) % clusters;
    item.categories.push_back("c" + std::to_string(neighbour));
  }
  const uint64_t tag_count = 2 + rng.Uniform(3);
  for (uint64_t t = 0; t < tag_count; ++t) {
    const uint64_t tag = rng.Bernoulli(0.8)
                             ? uint64_t{cluster} * kTagsPerCluster + rng.Uniform(kTagsPerCluster)
                             : rng.Uniform(uint64_t{clusters} * kTagsPerCluster);
    std::string name = "t" + std::to_string(tag);
    if (std::find(item.tags.begin(), item.tags.end(), name) == item.tags.end()) {
      item.tags.push_back(std::move(name));
    }
  }
  item.attributes.emplace_back("year", std::to_string(1950 + rng.Uniform(75)));
  item.attributes.emplace_back("price_bucket", kPriceBuckets[rng.Uniform(4)]);
  item.created_ms = catalog_.created_ms[index];
  return item;
}

const std::vector<Item>& SyntheticReader::items() const {
  if (items_.empty()) {
    items_.reserve(catalog_.cluster.size());
    for (uint32_t i = 0; i < catalog_.cluster.size(); ++i) {
      items_.push_back(MakeItem(i));
    }
  }
  return items_;
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenSynthetic(const SyntheticOptions& options) {
  FLYWHEEL_RETURN_IF_ERROR(ValidateSyntheticOptions(options));
  return std::unique_ptr<EventReader>(new SyntheticReader(options));
}

}  // namespace flywheel::data
