#include "data/synthetic.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::data {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// One generated event in compact form: ids parsed back to their numbers.
struct Record {
  uint32_t user = 0;
  uint32_t item = 0;
  TimestampMs ts_ms = 0;
  std::string_view type;  // points into kTypes
};

constexpr std::string_view kTypes[] = {"view", "click", "cart", "purchase", "skip"};

// The number in "<prefix><number>", or kBadId. Kept lean: tests read ~10^6 events under ASan.
constexpr uint32_t kBadId = 0xFFFFFFFF;
uint32_t IdNumber(const std::string& id, char prefix) {
  uint32_t number = kBadId;
  if (id.size() < 2 || id[0] != prefix) {
    return kBadId;
  }
  const auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), number);
  return ec == std::errc() && end == id.data() + id.size() ? number : kBadId;
}

std::string_view TypeOf(const std::string& type) {
  for (std::string_view known : kTypes) {
    if (type == known) {
      return known;
    }
  }
  return "unknown";
}

std::unique_ptr<EventReader> Open(const std::map<std::string, std::string>& params) {
  Result<SyntheticOptions> options = SyntheticOptions::FromParams(params);
  EXPECT_OK(options);
  Result<std::unique_ptr<EventReader>> reader = OpenSynthetic(*options);
  EXPECT_OK(reader);
  return std::move(reader).value();
}

std::vector<Record> ReadAll(EventReader& reader) {
  std::vector<Record> records;
  Event event;
  Result<bool> more = reader.Next(&event);
  for (; more.ok() && *more; more = reader.Next(&event)) {
    records.push_back(
        {IdNumber(event.user, 'u'), IdNumber(event.item, 'i'), event.ts_ms, TypeOf(event.type)});
    if (records.back().user == kBadId || records.back().item == kBadId ||
        records.back().type == "unknown") {
      ADD_FAILURE() << "bad event: " << event.user << " " << event.item << " " << event.type;
      break;
    }
  }
  EXPECT_OK(more);
  return records;
}

// Cluster of each item, from its first category "c<k>".
std::vector<int> ItemClusters(const EventReader& reader) {
  std::vector<int> clusters;
  for (const Item& item : reader.items()) {
    clusters.push_back(std::stoi(item.categories.at(0).substr(1)));
  }
  return clusters;
}

// Each user's events in stream order (item numbers), indexed by user number.
std::vector<std::vector<uint32_t>> ByUser(const std::vector<Record>& records, size_t users) {
  std::vector<std::vector<uint32_t>> sequences(users);
  for (const Record& record : records) {
    sequences.at(record.user).push_back(record.item);
  }
  return sequences;
}

// The most frequent cluster among `items` (ties: the lowest cluster).
int DominantCluster(const std::vector<uint32_t>& items, const std::vector<int>& clusters,
                    int num_clusters, double* share = nullptr) {
  std::vector<int> counts(static_cast<size_t>(num_clusters));
  for (uint32_t item : items) {
    ++counts[static_cast<size_t>(clusters[item])];
  }
  const auto best = std::max_element(counts.begin(), counts.end());
  if (share != nullptr) {
    *share = static_cast<double>(*best) / static_cast<double>(items.size());
  }
  return static_cast<int>(best - counts.begin());
}

// Least-squares slope of log(count) against log(rank) over the `top` most frequent items.
double LogLogSlope(std::vector<int64_t> counts, size_t top) {
  std::sort(counts.rbegin(), counts.rend());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const size_t n = std::min(top, counts.size());
  for (size_t rank = 0; rank < n; ++rank) {
    const double x = std::log(static_cast<double>(rank + 1));
    const double y = std::log(static_cast<double>(std::max<int64_t>(counts[rank], 1)));
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double dn = static_cast<double>(n);
  return (dn * sxy - sx * sy) / (dn * sxx - sx * sx);
}

double TopShare(std::vector<int64_t> counts, double fraction) {
  std::sort(counts.rbegin(), counts.rend());
  const auto top =
      std::max<size_t>(1, static_cast<size_t>(fraction * static_cast<double>(counts.size())));
  int64_t top_sum = 0, total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    total += counts[i];
    top_sum += i < top ? counts[i] : 0;
  }
  return static_cast<double>(top_sum) / static_cast<double>(total);
}

TEST(SyntheticTest, SameSeedGivesIdenticalStreamAndMetadata) {
  const std::map<std::string, std::string> params = {{"events", "20000"}, {"seed", "7"}};
  std::unique_ptr<EventReader> first = Open(params);
  std::unique_ptr<EventReader> second = Open(params);
  Event a, b;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(*first->Next(&a));
    ASSERT_TRUE(*second->Next(&b));
    ASSERT_EQ(a.user, b.user) << i;
    ASSERT_EQ(a.item, b.item) << i;
    ASSERT_EQ(a.type, b.type) << i;
    ASSERT_EQ(a.ts_ms, b.ts_ms) << i;
    ASSERT_EQ(a.value, b.value) << i;
  }
  ASSERT_EQ(first->items().size(), second->items().size());
  for (size_t i = 0; i < first->items().size(); ++i) {
    const Item& x = first->items()[i];
    const Item& y = second->items()[i];
    ASSERT_EQ(x.id, y.id);
    ASSERT_EQ(x.categories, y.categories);
    ASSERT_EQ(x.tags, y.tags);
    ASSERT_EQ(x.attributes, y.attributes);
    ASSERT_EQ(x.created_ms, y.created_ms);
  }
}

TEST(SyntheticTest, DifferentSeedsDiffer) {
  std::unique_ptr<EventReader> first = Open({{"events", "2000"}, {"seed", "1"}});
  std::unique_ptr<EventReader> second = Open({{"events", "2000"}, {"seed", "2"}});
  const std::vector<Record> a = ReadAll(*first);
  const std::vector<Record> b = ReadAll(*second);
  ASSERT_EQ(a.size(), b.size());
  int same_item = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    same_item += a[i].item == b[i].item ? 1 : 0;
  }
  EXPECT_LT(same_item, 200);  // chance agreement only
}

TEST(SyntheticTest, ProducesExactlyTheRequestedNumberOfEvents) {
  for (int64_t events : {0, 1, 1234}) {
    std::unique_ptr<EventReader> reader = Open({{"events", std::to_string(events)}});
    EXPECT_EQ(static_cast<int64_t>(ReadAll(*reader).size()), events);
    Event event;
    EXPECT_FALSE(*reader->Next(&event));  // stays at the end
    EXPECT_EQ(reader->stats().events, events);
    EXPECT_EQ(reader->stats().lines, events);
    EXPECT_EQ(reader->stats().skipped, 0);
  }
}

TEST(SyntheticTest, TimestampsStartAtStartAndHaveTheRequestedMeanGap) {
  std::unique_ptr<EventReader> reader =
      Open({{"events", "50000"}, {"start", "2024-01-01"}, {"gap", "10"}});
  EXPECT_TRUE(reader->time_ordered());
  EXPECT_TRUE(reader->has_timestamps());
  const std::vector<Record> records = ReadAll(*reader);
  const TimestampMs start = 1704067200000;  // 2024-01-01T00:00:00Z
  ASSERT_EQ(records.front().ts_ms, start);
  for (size_t i = 1; i < records.size(); ++i) {
    ASSERT_LE(records[i - 1].ts_ms, records[i].ts_ms) << i;
  }
  const double mean_gap_ms =
      static_cast<double>(records.back().ts_ms - start) / static_cast<double>(records.size() - 1);
  EXPECT_NEAR(mean_gap_ms, 10000.0, 300.0);  // ~7 standard errors
}

TEST(SyntheticTest, NewItemsArriveOverTheStreamAndNeverAppearEarly) {
  std::unique_ptr<EventReader> reader =
      Open({{"events", "50000"}, {"items", "1000"}, {"new_items", "0.5"}});
  const std::vector<Item>& items = reader->items();
  ASSERT_EQ(items.size(), 1000u);
  const TimestampMs start = items[0].created_ms;
  int arriving = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    EXPECT_LE(items[i - 1].created_ms, items[i].created_ms) << "created_ms ascends with the id";
    arriving += items[i].created_ms > start ? 1 : 0;
  }
  EXPECT_EQ(arriving, 500);
  const std::vector<Record> records = ReadAll(*reader);
  int64_t events_on_new = 0;
  std::set<uint32_t> new_seen;
  for (const Record& record : records) {
    ASSERT_GE(record.ts_ms, items[record.item].created_ms) << "item i" << record.item;
    if (items[record.item].created_ms > start) {
      ++events_on_new;
      new_seen.insert(record.item);
    }
  }
  // New items arrive uniformly: about half of them are out by mid-stream, so the late half of
  // the catalogue is used, but less than the items present from the start.
  EXPECT_GT(new_seen.size(), 300u);
  EXPECT_GT(events_on_new, 5000);
  EXPECT_LT(events_on_new, 25000);
  EXPECT_GT(items.back().created_ms, records[records.size() * 9 / 10].ts_ms);
}

TEST(SyntheticTest, ItemMetadataFollowsTheCluster) {
  std::unique_ptr<EventReader> reader = Open({{"items", "2000"}, {"clusters", "10"}});
  const std::vector<int> clusters = ItemClusters(*reader);
  int with_second = 0, tags_total = 0, tags_in_block = 0;
  std::vector<int> cluster_sizes(10);
  for (size_t i = 0; i < reader->items().size(); ++i) {
    const Item& item = reader->items()[i];
    const int cluster = clusters[i];
    ASSERT_GE(cluster, 0);
    ASSERT_LT(cluster, 10);
    ++cluster_sizes[static_cast<size_t>(cluster)];
    EXPECT_EQ(item.id, "i" + std::to_string(i));
    EXPECT_EQ(item.title, "Item " + std::to_string(i));
    ASSERT_LE(item.categories.size(), 2u);
    if (item.categories.size() == 2) {
      ++with_second;
      const int other = std::stoi(item.categories[1].substr(1));
      EXPECT_TRUE(other == (cluster + 1) % 10 || other == (cluster + 9) % 10) << item.id;
    }
    EXPECT_GE(item.tags.size(), 1u);
    EXPECT_LE(item.tags.size(), 4u);
    for (const std::string& tag : item.tags) {
      ++tags_total;
      tags_in_block += std::stoi(tag.substr(1)) / 8 == cluster ? 1 : 0;
    }
    ASSERT_EQ(item.attributes.size(), 2u);
    EXPECT_EQ(item.attributes[0].first, "year");
    const int year = std::stoi(item.attributes[0].second);
    EXPECT_GE(year, 1950);
    EXPECT_LE(year, 2024);
    EXPECT_EQ(item.attributes[1].first, "price_bucket");
    EXPECT_THAT((std::set<std::string>{"low", "mid", "high", "premium"}),
                ::testing::Contains(item.attributes[1].second));
  }
  EXPECT_THAT(cluster_sizes, ::testing::Each(200));  // balanced clusters
  EXPECT_GT(with_second, 200);                       // ~20% of items
  EXPECT_LT(with_second, 600);
  EXPECT_GT(tags_in_block, tags_total * 7 / 10);  // ~80% (+ chance hits) from the own block
}

TEST(SyntheticTest, PopularityIsZipfLike) {
  std::unique_ptr<EventReader> reader =
      Open({{"events", "200000"}, {"new_items", "0"}, {"drift", "none"}, {"zipf", "1"}});
  std::vector<int64_t> counts(2000);
  for (const Record& record : ReadAll(*reader)) {
    ++counts[record.item];
  }
  // Zipf(1) over 2000 items puts ~30% of the mass on the top 1%.
  EXPECT_GT(TopShare(counts, 0.01), 0.2);
  // Users avoid repeating their last few items, which flattens the head a little (-0.87 seen).
  EXPECT_NEAR(LogLogSlope(counts, 500), -1.0, 0.2);

  std::unique_ptr<EventReader> flat =
      Open({{"events", "50000"}, {"new_items", "0"}, {"drift", "none"}, {"zipf", "0"}});
  std::fill(counts.begin(), counts.end(), 0);
  for (const Record& record : ReadAll(*flat)) {
    ++counts[record.item];
  }
  EXPECT_LT(TopShare(counts, 0.01), 0.03);  // uniform: 1% plus sampling noise
}

// Shared stream for the behaviour tests below: 1000 users, 2000 items, 16 clusters.
struct BehaviourData {
  std::vector<int> clusters;                     // per item
  std::vector<Record> records;                   // the stream
  std::vector<std::vector<uint32_t>> sequences;  // per user: items in stream order
};

const BehaviourData& Behaviour() {
  static const BehaviourData* const data = [] {
    std::unique_ptr<EventReader> reader =
        Open({{"events", "100000"}, {"drift", "none"}, {"new_items", "0"}});
    auto* built = new BehaviourData;
    built->clusters = ItemClusters(*reader);
    built->records = ReadAll(*reader);
    built->sequences = ByUser(built->records, 1000);
    return built;
  }();
  return *data;
}

TEST(SyntheticBehaviourTest, UsersConcentrateOnADominantCluster) {
  const BehaviourData& data = Behaviour();
  double share_sum = 0;
  int users = 0;
  for (const std::vector<uint32_t>& items : data.sequences) {
    if (items.size() < 30) {
      continue;
    }
    double share = 0;
    DominantCluster(items, data.clusters, 16, &share);
    share_sum += share;
    ++users;
  }
  ASSERT_GT(users, 500);
  EXPECT_GT(share_sum / users, 0.5);  // vs 1/16 = 0.06 without taste
}

TEST(SyntheticBehaviourTest, SessionsStayInOneCluster) {
  const BehaviourData& data = Behaviour();
  // Adjacent events of a user mostly belong to one session; events 30 apart mostly do not.
  int64_t adjacent = 0, adjacent_same = 0, apart = 0, apart_same = 0;
  for (const std::vector<uint32_t>& items : data.sequences) {
    for (size_t i = 1; i < items.size(); ++i) {
      ++adjacent;
      adjacent_same += data.clusters[items[i]] == data.clusters[items[i - 1]] ? 1 : 0;
    }
    for (size_t i = 30; i < items.size(); ++i) {
      ++apart;
      apart_same += data.clusters[items[i]] == data.clusters[items[i - 30]] ? 1 : 0;
    }
  }
  const double adjacent_rate = static_cast<double>(adjacent_same) / static_cast<double>(adjacent);
  const double apart_rate = static_cast<double>(apart_same) / static_cast<double>(apart);
  EXPECT_GT(adjacent_rate, 0.8);  // ~0.89 seen
  EXPECT_GT(adjacent_rate, apart_rate + 0.2) << "apart: " << apart_rate;
}

// Share of an item's transitions (item -> item `lag` events later by the same user) that go
// to its most frequent target, averaged over items with at least 30 transitions.
double TopTransitionShare(const std::vector<std::vector<uint32_t>>& sequences, size_t lag) {
  std::vector<uint64_t> pairs;  // (from << 32) | to
  for (const std::vector<uint32_t>& items : sequences) {
    for (size_t i = lag; i < items.size(); ++i) {
      pairs.push_back(uint64_t{items[i - lag]} << 32 | items[i]);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  double sum = 0;
  int items_counted = 0;
  for (size_t begin = 0; begin < pairs.size();) {  // one run of equal `from` at a time
    size_t end = begin, best = 0, run = 0;
    for (; end < pairs.size() && pairs[end] >> 32 == pairs[begin] >> 32; ++end) {
      run = end > begin && pairs[end] == pairs[end - 1] ? run + 1 : 1;
      best = std::max(best, run);
    }
    if (end - begin >= 30) {
      sum += static_cast<double>(best) / static_cast<double>(end - begin);
      ++items_counted;
    }
    begin = end;
  }
  return sum / items_counted;
}

TEST(SyntheticBehaviourTest, ItemsHaveAFollowUp) {
  const BehaviourData& data = Behaviour();
  // Each item has a fixed follow-up: the next item is far more predictable than one 5 later.
  const double next = TopTransitionShare(data.sequences, 1);
  const double later = TopTransitionShare(data.sequences, 5);
  EXPECT_GT(next, 0.18);  // ~0.22 seen
  EXPECT_GT(next, 1.5 * later) << "lag 5: " << later;
}

TEST(SyntheticBehaviourTest, MostInteractionsAreWithNewItems) {
  const BehaviourData& data = Behaviour();
  std::vector<uint64_t> pairs;  // (user << 32) | item
  for (const Record& record : data.records) {
    pairs.push_back(uint64_t{record.user} << 32 | record.item);
  }
  std::sort(pairs.begin(), pairs.end());
  const auto distinct = std::unique(pairs.begin(), pairs.end()) - pairs.begin();
  const auto repeats = static_cast<int64_t>(data.records.size()) - distinct;  // not a first time
  const double repeat_share =
      static_cast<double>(repeats) / static_cast<double>(data.records.size());
  EXPECT_GT(repeat_share, 0.1);  // re-interactions happen
  EXPECT_LT(repeat_share, 0.5);
}

TEST(SyntheticBehaviourTest, EventTypesFollowTheFunnelAndTaste) {
  const BehaviourData& data = Behaviour();
  std::map<std::string_view, int64_t> counts;
  std::map<std::string_view, int64_t> in_taste;
  std::vector<int> dominant(data.sequences.size(), -1);
  for (size_t user = 0; user < data.sequences.size(); ++user) {
    if (!data.sequences[user].empty()) {
      dominant[user] = DominantCluster(data.sequences[user], data.clusters, 16);
    }
  }
  for (const Record& record : data.records) {
    ++counts[record.type];
    in_taste[record.type] += data.clusters[record.item] == dominant[record.user] ? 1 : 0;
  }
  ASSERT_EQ(counts.size(), 5u);  // view, click, cart, purchase, skip
  const auto share = [&](std::string_view type) {
    return static_cast<double>(counts[type]) / static_cast<double>(data.records.size());
  };
  const auto taste = [&](std::string_view type) {
    return static_cast<double>(in_taste[type]) / static_cast<double>(counts[type]);
  };
  EXPECT_GT(share("view") + share("click"), 0.75);
  EXPECT_GT(share("cart"), share("purchase"));
  EXPECT_GT(share("purchase"), 0.01);
  EXPECT_LT(share("skip"), 0.05);
  EXPECT_GT(share("skip"), 0.005);
  EXPECT_GT(taste("purchase"), taste("view"));
  EXPECT_LT(taste("skip"), 0.1);  // skips are for items outside the user's taste
  EXPECT_GT(taste("purchase"), 0.6);
}

// Share of users (with enough events in both halves) whose dominant cluster differs between
// the first and the second half of the stream.
double ChangedDominantShare(const std::string& drift) {
  std::unique_ptr<EventReader> reader = Open({{"users", "100"},
                                              {"events", "50000"},
                                              {"drift", drift},
                                              {"drift_users", "0.5"},
                                              {"new_items", "0"}});
  const std::vector<int> clusters = ItemClusters(*reader);
  const std::vector<Record> records = ReadAll(*reader);
  const auto half = static_cast<std::ptrdiff_t>(records.size() / 2);
  const std::vector<Record> first(records.begin(), records.begin() + half);
  const std::vector<Record> second(records.begin() + half, records.end());
  const auto before = ByUser(first, 100);
  const auto after = ByUser(second, 100);
  int users = 0, changed = 0;
  for (size_t user = 0; user < 100; ++user) {
    if (before[user].size() < 60 || after[user].size() < 60) {
      continue;
    }
    ++users;
    changed +=
        DominantCluster(before[user], clusters, 16) != DominantCluster(after[user], clusters, 16)
            ? 1
            : 0;
  }
  EXPECT_GT(users, 50);
  return static_cast<double>(changed) / users;
}

TEST(SyntheticTest, TasteDriftChangesTheDominantClusterOfDriftedUsers) {
  const double with_drift = ChangedDominantShare("0.5");
  const double without = ChangedDominantShare("none");
  EXPECT_GT(with_drift, 0.35);  // drift_users=0.5
  EXPECT_LT(with_drift, 0.65);
  EXPECT_LT(without, 0.1);
}

TEST(SyntheticTest, DegenerateWorldStillWorks) {
  std::unique_ptr<EventReader> reader = Open({{"users", "1"},
                                              {"items", "1"},
                                              {"clusters", "1"},
                                              {"events", "100"},
                                              {"new_items", "1"},
                                              {"drift", "0:0.5:1"},
                                              {"gap", "0"}});
  const std::vector<Record> records = ReadAll(*reader);
  ASSERT_EQ(records.size(), 100u);
  for (const Record& record : records) {
    EXPECT_EQ(record.user, 0u);
    EXPECT_EQ(record.item, 0u);
    EXPECT_EQ(record.ts_ms, records[0].ts_ms);
  }
  EXPECT_EQ(reader->items().at(0).created_ms, records[0].ts_ms);  // one item exists at start
}

TEST(SyntheticTest, ReaderDescribesItself) {
  std::unique_ptr<EventReader> reader = Open({{"users", "10"}, {"drift", "0.25:0.75"}});
  EXPECT_EQ(reader->default_positive(), "types:click,cart,purchase");
  ASSERT_EQ(reader->notes().size(), 1u);
  EXPECT_THAT(reader->notes()[0],
              AllOf(HasSubstr("users=10"), HasSubstr("items=2000"), HasSubstr("drift=0.25:0.75")));
}

TEST(SyntheticOptionsTest, FromParamsReadsEveryKey) {
  Result<SyntheticOptions> options = SyntheticOptions::FromParams({{"users", "5"},
                                                                   {"items", "50"},
                                                                   {"events", "70"},
                                                                   {"seed", "9"},
                                                                   {"clusters", "4"},
                                                                   {"zipf", "1.5"},
                                                                   {"session", "3"},
                                                                   {"new_items", "0.1"},
                                                                   {"drift", "0.2:0.9"},
                                                                   {"drift_users", "0.4"},
                                                                   {"start", "2024-01-01"},
                                                                   {"gap", "2.5"}});
  ASSERT_OK(options);
  EXPECT_EQ(options->users, 5);
  EXPECT_EQ(options->items, 50);
  EXPECT_EQ(options->events, 70);
  EXPECT_EQ(options->seed, 9u);
  EXPECT_EQ(options->clusters, 4);
  EXPECT_EQ(options->zipf, 1.5);
  EXPECT_EQ(options->mean_session_length, 3.0);
  EXPECT_EQ(options->new_item_fraction, 0.1);
  EXPECT_EQ(options->drift_at, (std::vector<double>{0.2, 0.9}));
  EXPECT_EQ(options->drift_user_fraction, 0.4);
  EXPECT_EQ(options->start_ms, 1704067200000);
  EXPECT_EQ(options->mean_gap_seconds, 2.5);

  Result<SyntheticOptions> defaults = SyntheticOptions::FromParams({{"drift", "none"}});
  ASSERT_OK(defaults);
  EXPECT_TRUE(defaults->drift_at.empty());
  EXPECT_EQ(defaults->users, SyntheticOptions().users);
}

TEST(SyntheticOptionsTest, UnknownKeyListsTheAllowedKeys) {
  EXPECT_THAT(SyntheticOptions::FromParams({{"userz", "5"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'userz'"), HasSubstr("users, items, events"),
                             HasSubstr("drift_users"), HasSubstr("gap"))));
}

TEST(SyntheticOptionsTest, BadValuesNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"users", "x"},
      {"users", "0"},
      {"items", "0"},
      {"items", "1e3"},
      {"events", "-1"},
      {"seed", "-3"},
      {"clusters", "0"},
      {"clusters", "2001"},
      {"zipf", "-0.5"},
      {"zipf", "nan"},
      {"session", "0.5"},
      {"new_items", "1.5"},
      {"drift", "0.5:2"},
      {"drift", "0.5:"},
      {"drift", "later"},
      {"drift_users", "-0.1"},
      {"start", "tomorrow"},
      {"gap", "-1"},
      {"clusters", "9999999999"},
  };
  for (const auto& [key, value] : cases) {
    EXPECT_THAT(SyntheticOptions::FromParams({{key, value}}),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("'" + key + "'")))
        << key << "=" << value;
  }
}

TEST(SyntheticOptionsTest, OpenSyntheticValidatesOptions) {
  SyntheticOptions options;
  options.clusters = 0;
  EXPECT_THAT(OpenSynthetic(options),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'clusters'")));
  options = SyntheticOptions();
  options.drift_user_fraction = 2;
  EXPECT_THAT(OpenSynthetic(options),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'drift_users'")));
}

}  // namespace
}  // namespace flywheel::data

namespace flywheel::data {
namespace {

// A small spec works: the clusters default (16) shrinks to the items the user asked for; an
// explicit clusters value is checked as given.
TEST(SyntheticOptionsTest, DefaultsFitSmallSpecsButExplicitValuesAreChecked) {
  Result<SyntheticOptions> small =
      SyntheticOptions::FromParams({{"users", "20"}, {"items", "10"}, {"events", "100"}});
  ASSERT_OK(small);
  EXPECT_EQ(small->clusters, 10);
  auto reader = OpenSynthetic(*small);
  ASSERT_OK(reader);
  EXPECT_EQ(SyntheticOptions::FromParams({{"items", "100"}})->clusters, 16);
  EXPECT_THAT(SyntheticOptions::FromParams({{"items", "10"}, {"clusters", "16"}}).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("key 'clusters'")));
}

}  // namespace
}  // namespace flywheel::data
