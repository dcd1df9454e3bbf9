// The recommendation pipeline through the engine: candidates, filters, business rules,
// exploration, reasons and similar items.
#include "engine/serve/pipeline.h"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "base/random.h"
#include "testing/status_matchers.h"

// hnswlib's addPoint takes its locks in orders TSan reports as inversions; the index serialises
// every insertion under its writer lock (doc/ann.md), so these reports are spurious. Data-race
// reports stay on.
extern "C" const char* __tsan_default_suppressions() {
  return "deadlock:*HierarchicalNSW*\n";
}

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr TimestampMs kT0 = 1'700'000'000'000;
constexpr int kGroups = 4;
constexpr int kItemsPerGroup = 40;

std::string Category(int g) {
  return "cat" + std::to_string(g);
}

// Users u<g>-<n> interact with items of group g (category cat<g>).
std::vector<Event> GroupEvents(int n, uint64_t seed, TimestampMs t0) {
  base::Rng rng(seed);
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    const int g = static_cast<int>(rng.Uniform(kGroups));
    const int u = static_cast<int>(rng.Uniform(10));
    const int item = g * kItemsPerGroup + static_cast<int>(rng.Uniform(kItemsPerGroup));
    events.push_back(Event{"u" + std::to_string(g) + "-" + std::to_string(u),
                           "i" + std::to_string(item),
                           "click",
                           1.0,
                           t0 + i * 1000,
                           "",
                           {}});
  }
  return events;
}

class PipelineTest : public ::testing::Test {
 protected:
  void Open(PipelineOptions pipeline = {}, const std::string& model = "bpr",
            const std::map<std::string, std::string>& extra = {}) {
    EngineOptions o;
    o.data_dir = dir_.path();
    std::map<std::string, std::string> params = {{"dim", "16"}, {"seed", "3"}};
    params.insert(extra.begin(), extra.end());
    o.models = {ModelSpec{model, {params.begin(), params.end()}}, ModelSpec{"pop", {}}};
    o.snapshot_on_close = false;
    o.pipeline = std::move(pipeline);
    auto engine = Engine::Open(o);
    ASSERT_OK(engine.status());
    engine_ = std::move(engine).value();
    for (int g = 0; g < kGroups; ++g) {
      for (int j = 0; j < kItemsPerGroup; ++j) {
        const int item = g * kItemsPerGroup + j;
        ASSERT_OK(engine_
                      ->PutItem(Item{"i" + std::to_string(item),
                                     "Title " + std::to_string(item),
                                     {Category(g)},
                                     {},
                                     {},
                                     kT0})
                      .status());
      }
    }
    const auto events = GroupEvents(2000, 11, kT0);
    auto r = engine_->Ingest(events);
    ASSERT_OK(r.status());
    ASSERT_OK(engine_->WaitForApplied(r->last_seq, 60000));
  }

  RecommendResult Recommend(const std::string& user, int k = 10, const std::string& model = "") {
    RecommendQuery q;
    q.user = user;
    q.k = k;
    q.model = model;
    auto r = engine_->Recommend(q);
    EXPECT_OK(r.status());
    return r.ok() ? *r : RecommendResult{};
  }

  // Group of an item id "i<n>".
  static int GroupOf(const std::string& item) { return std::stoi(item.substr(1)) / kItemsPerGroup; }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(PipelineTest, PersonalisedItemsComeWithReasonsFromTheUsersHistory) {
  Open();
  const RecommendResult r = Recommend("u2-3");
  ASSERT_EQ(r.items.size(), 10u);
  EXPECT_TRUE(r.known_user);
  EXPECT_EQ(r.model, "bpr");
  int in_group = 0;
  for (const Recommendation& item : r.items) {
    EXPECT_FALSE(item.reason.empty());
    in_group += GroupOf(item.item) == 2 ? 1 : 0;
    if (!item.exploration && item.source != "trending") {
      EXPECT_THAT(item.reason, StartsWith("because you clicked Title ")) << item.item;
    }
  }
  EXPECT_GE(in_group, 7) << "the user's taste group dominates";
  // Scores are non-increasing over the ranked (non-exploration) part.
  for (size_t i = 1; i < r.items.size(); ++i) {
    if (!r.items[i].exploration && !r.items[i - 1].exploration) {
      EXPECT_LE(r.items[i].score, r.items[i - 1].score);
    }
  }
}

// sasrec serves through its retrieval vectors (h, E_i) and explains by attention: the shares
// are over the user's recent items and sum to 1, and the reason names one of them.
TEST_F(PipelineTest, SasrecServesWithAttentionWeightedReasons) {
  PipelineOptions p;
  p.exploration = 0;
  Open(p, "sasrec", {{"scratch_lr", "0.01"}, {"max_len", "10"}, {"blocks", "1"}});
  RecommendQuery q;
  q.user = "u1-4";
  q.k = 10;
  q.explain = true;
  auto r = engine_->Recommend(q);
  ASSERT_OK(r.status());
  EXPECT_EQ(r->model, "sasrec");
  ASSERT_EQ(r->items.size(), 10u);
  int in_group = 0;
  int explained = 0;
  for (const Recommendation& item : r->items) {
    in_group += GroupOf(item.item) == 1 ? 1 : 0;
    if (item.source == "trending") {
      continue;
    }
    EXPECT_THAT(item.reason, StartsWith("because you clicked Title ")) << item.item;
    // The same reason as data: its kind and the recent item it names.
    EXPECT_EQ(item.reason_kind, "because");
    EXPECT_EQ(GroupOf(item.reason_item), 1) << item.reason_item;
    EXPECT_EQ(item.reason, "because you clicked Title " + item.reason_item.substr(1));
    float total = 0;
    for (const auto& [seed, share] : item.because) {
      EXPECT_EQ(GroupOf(seed), 1) << "explained by the user's own (group 1) items: " << seed;
      EXPECT_GT(share, 0.0f);
      total += share;
    }
    if (!item.because.empty()) {
      ++explained;
      EXPECT_NEAR(total, 1.0f, 1e-4) << item.item;
    }
  }
  EXPECT_GE(explained, 5);
  EXPECT_GE(in_group, 6) << "sasrec learned the user's taste group online";
}

// The content source: trending items of the category of the user's most recent item.
TEST_F(PipelineTest, ContentMatchesOfferTheRecentItemsCategory) {
  PipelineOptions p;
  p.candidates = 5;
  p.neighbours_per_seed = 0;
  p.trending_candidates = 0;
  p.exploration = 0;
  p.content_candidates = 30;
  Open(p);
  RecommendQuery q;
  q.user = "u1-2";
  q.k = 100;
  q.exclude_seen = false;
  auto r = engine_->Recommend(q);
  ASSERT_OK(r.status());
  int content = 0;
  for (const Recommendation& item : r->items) {
    if (item.source == "content") {
      ++content;
      EXPECT_EQ(GroupOf(item.item), 1) << item.item;  // the category of the user's items
    }
  }
  // 40 items in the category, at most 5 already offered by the model: 30 offered.
  EXPECT_EQ(content, 30);
  EXPECT_EQ(r->items.size(), 35u);
}

TEST_F(PipelineTest, ContentMatchesAreOffByDefault) {
  Open();
  RecommendQuery q;
  q.user = "u1-2";
  q.k = 100;
  auto r = engine_->Recommend(q);
  ASSERT_OK(r.status());
  for (const Recommendation& item : r->items) {
    EXPECT_NE(item.source, "content") << item.item;
  }
}

TEST_F(PipelineTest, UnknownUsersGetPopularItemsWithCategoryReasons) {
  Open();
  const RecommendResult r = Recommend("never-seen");
  EXPECT_FALSE(r.known_user);
  ASSERT_EQ(r.items.size(), 10u);
  for (const Recommendation& item : r.items) {
    if (!item.exploration) {
      EXPECT_EQ(item.reason, "popular in " + Category(GroupOf(item.item)) + " now");
      EXPECT_EQ(item.reason_kind, "popular");
      EXPECT_EQ(item.reason_item, "");
    }
  }
}

TEST_F(PipelineTest, CategoryFilterAndExplain) {
  Open();
  RecommendQuery q;
  q.user = "u0-1";
  q.k = 8;
  q.categories = {Category(3), "no-such-category"};
  q.explain = true;
  auto r = engine_->Recommend(q);
  ASSERT_OK(r.status());
  ASSERT_EQ(r->items.size(), 8u);
  for (const Recommendation& item : r->items) {
    EXPECT_EQ(GroupOf(item.item), 3) << item.item;
    if (!item.because.empty()) {
      float total = 0;
      for (const auto& [seed, share] : item.because) {
        EXPECT_GT(share, 0.0f);
        total += share;
      }
      EXPECT_NEAR(total, 1.0f, 1e-4) << item.item;
    }
  }
  q.categories = {"no-such-category"};
  EXPECT_TRUE(engine_->Recommend(q)->items.empty());
}

TEST_F(PipelineTest, BusinessRulesAreApplied) {
  PipelineOptions p;
  p.exclude_categories = {Category(1)};
  p.max_per_category = 2;
  p.exploration = 0;
  Open(p);
  for (const std::string user : {"u1-2", "u0-4", "nobody"}) {
    const RecommendResult r = Recommend(user, 8);
    EXPECT_EQ(r.items.size(), 6u) << user << ": 3 allowed categories x 2";
    if (r.items.size() != 6u) {
      for (const auto& item : r.items) {
        ADD_FAILURE() << item.item << " " << item.reason;
      }
    }
    std::map<int, int> per_group;
    for (const Recommendation& item : r.items) {
      EXPECT_NE(GroupOf(item.item), 1) << user;
      ++per_group[GroupOf(item.item)];
    }
    for (const auto& [g, n] : per_group) {
      EXPECT_LE(n, 2) << user << " group " << g;
    }
  }
}

TEST_F(PipelineTest, NewItemsGetExplorationSlots) {
  PipelineOptions p;
  p.exploration = 0.2;
  p.new_item_window_ms = 600'000;  // the catalogue's items are older than that by now
  Open(p);
  ASSERT_OK(engine_->PutItem(Item{"fresh-0", "Fresh 0", {Category(0)}, {}, {}, 0}).status());
  auto seq = engine_->PutItem(Item{"fresh-1", "Fresh", {Category(2)}, {}, {}, kT0});
  ASSERT_OK(seq.status());
  ASSERT_OK(engine_->WaitForApplied(*seq, 10000));
  const RecommendResult r = Recommend("u2-1");
  ASSERT_EQ(r.items.size(), 10u);
  int explored = 0;
  bool fresh = false;
  for (const Recommendation& item : r.items) {
    if (item.exploration) {
      ++explored;
      EXPECT_THAT(item.reason, StartsWith("new in cat"));
      EXPECT_EQ(item.reason_kind, "new");
      fresh = fresh || item.item == "fresh-1";
    }
  }
  EXPECT_EQ(explored, 2);
  EXPECT_TRUE(fresh) << "the new item in the user's category is explored";
  // Exploration off: no new item is forced in.
  PipelineOptions none = p;
  none.exploration = 0;
  EXPECT_OK(ValidatePipelineOptions(none));
  PipelineOptions too_much;
  too_much.exploration = 0.9;
  EXPECT_THAT(ValidatePipelineOptions(too_much),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exploration")));
}

TEST_F(PipelineTest, RecommendationsChangeAfterTheUsersEvents) {
  Open();
  const RecommendResult before = Recommend("newcomer");
  std::vector<Event> events;
  for (int j = 0; j < 6; ++j) {
    events.push_back(Event{"newcomer",
                           "i" + std::to_string(3 * kItemsPerGroup + j),
                           "click",
                           1.0,
                           kT0 + 7'000'000 + j,
                           "",
                           {}});
  }
  auto r = engine_->Ingest(events);
  ASSERT_OK(r.status());
  ASSERT_OK(engine_->WaitForApplied(r->last_seq, 10000));
  const RecommendResult after = Recommend("newcomer");
  EXPECT_TRUE(after.known_user);
  std::vector<std::string> a;
  std::vector<std::string> b;
  int in_group = 0;
  for (const auto& item : before.items) {
    a.push_back(item.item);
  }
  for (const auto& item : after.items) {
    b.push_back(item.item);
    in_group += GroupOf(item.item) == 3 ? 1 : 0;
    EXPECT_NE(item.item.substr(0, 1), "");
  }
  EXPECT_NE(a, b);
  EXPECT_GE(in_group, 5);
  for (const auto& e : events) {
    EXPECT_THAT(b, ::testing::Not(::testing::Contains(e.item))) << "seen items are excluded";
  }
}

TEST_F(PipelineTest, AnnIndexServesTheSameTasteAsTheExactScan) {
  PipelineOptions p;
  p.ann = "hnsw";
  p.ann_min_items = 1;
  Open(p);
  for (int i = 0; i < 600 && engine_->stats().vector_index_items < kGroups * kItemsPerGroup; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(engine_->stats().vector_index_items, static_cast<uint64_t>(kGroups * kItemsPerGroup));
  EXPECT_GE(engine_->stats().vector_index_upserts, engine_->stats().vector_index_items);
  const RecommendResult r = Recommend("u2-3");
  ASSERT_EQ(r.items.size(), 10u);
  int in_group = 0;
  for (const Recommendation& item : r.items) {
    in_group += GroupOf(item.item) == 2 ? 1 : 0;
  }
  EXPECT_GE(in_group, 7);
  auto similar = engine_->Similar("i45", 5, "");
  ASSERT_OK(similar.status());
  int similar_in_group = 0;
  for (const auto& item : similar->items) {
    similar_in_group += GroupOf(item.item) == 1 ? 1 : 0;
  }
  EXPECT_GE(similar_in_group, 4);
  // New events keep flowing while the index refreshes in the background.
  const auto more = GroupEvents(500, 99, kT0 + 10'000'000);
  auto ingested = engine_->Ingest(more);
  ASSERT_OK(ingested.status());
  ASSERT_OK(engine_->WaitForApplied(ingested->last_seq, 60000));
  EXPECT_EQ(Recommend("u1-1").items.size(), 10u);
}

TEST_F(PipelineTest, SimilarItemsShareTheGroupAndSkipDeletedOnes) {
  Open();
  ASSERT_OK(engine_->DeleteItem("i46").status());
  auto seq = engine_->DeleteItem("i47");
  ASSERT_OK(seq.status());
  ASSERT_OK(engine_->WaitForApplied(*seq, 10000));
  auto r = engine_->Similar("i45", 5, "");
  ASSERT_OK(r.status());
  ASSERT_EQ(r->items.size(), 5u);
  int in_group = 0;
  for (const auto& item : r->items) {
    EXPECT_NE(item.item, "i45");
    EXPECT_NE(item.item, "i46");
    EXPECT_NE(item.item, "i47");
    EXPECT_EQ(item.reason, "similar to Title 45");
    EXPECT_EQ(item.reason_kind, "similar");
    EXPECT_EQ(item.reason_item, "i45");
    in_group += GroupOf(item.item) == 1 ? 1 : 0;
  }
  EXPECT_GE(in_group, 4);
  // pop has no vectors: trending items of the same category.
  auto pop = engine_->Similar("i45", 5, "pop");
  ASSERT_OK(pop.status());
  for (const auto& item : pop->items) {
    EXPECT_EQ(GroupOf(item.item), 1);
  }
  EXPECT_THAT(engine_->Similar("nope", 5, "").status(), StatusIs(StatusCode::kNotFound));
  EXPECT_THAT(engine_->Similar("i46", 5, "").status(), StatusIs(StatusCode::kNotFound));
}

}  // namespace
}  // namespace flywheel::engine
