#include "engine/loop/attribution.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;
constexpr TimestampMs kT0 = 1'700'000'000'000;

struct Collector : ImpressionListener {
  void OnClosed(const ClosedImpression& closed) override { lists.push_back(closed); }
  std::vector<ClosedImpression> lists;
};

// A list of `items` (dense indices = external ids "i<idx>") for user "u<user>".
Impression List(const std::string& id, TimestampMs ts, const std::vector<ItemIdx>& items) {
  Impression imp;
  imp.user = "u";
  imp.recommendation_id = id;
  imp.ts_ms = ts;
  imp.policy = "epsilon:0.1";
  imp.model = "bpr";
  imp.model_version = 7;
  for (size_t i = 0; i < items.size(); ++i) {
    ShownItem shown;
    shown.item = "i" + std::to_string(items[i]);
    shown.position = static_cast<uint32_t>(i);
    shown.propensity = 0.9;
    shown.step = 0.9;
    imp.items.push_back(shown);
  }
  return imp;
}

Event Ev(const std::string& type, TimestampMs ts, const std::string& rec = "") {
  Event e;
  e.user = "u";
  e.item = "x";
  e.type = type;
  e.ts_ms = ts;
  e.recommendation_id = rec;
  return e;
}

class AttributorTest : public ::testing::Test {
 protected:
  AttributorTest() : types_(EventTypeTable::Default()) {}
  void Make(LoopOptions options = {}) {
    attributor_ = std::make_unique<Attributor>(options, types_);
    attributor_->AddListener(&closed_);
  }
  EventTypeId Type(const std::string& name) { return types_.Find(name).value(); }
  void Show(UserIdx user, const std::string& id, TimestampMs ts, const std::vector<ItemIdx>& items,
            uint64_t seq = 1) {
    attributor_->OnImpression(seq, List(id, ts, items), user, items);
  }
  Attributor::Outcome On(UserIdx user, ItemIdx item, const std::string& type, TimestampMs ts,
                         const std::string& rec = "") {
    return attributor_->OnEvent(Ev(type, ts, rec), user, item, Type(type));
  }
  ImpressionStats Stats() {
    ImpressionStats s;
    attributor_->FillStats(&s);
    return s;
  }

  EventTypeTable types_;
  std::unique_ptr<Attributor> attributor_;
  Collector closed_;
};

TEST_F(AttributorTest, AttributesByRecommendationIdAndByItem) {
  Make();
  Show(0, "aaaa000000000001", kT0, {10, 11, 12}, 5);
  Show(0, "aaaa000000000002", kT0 + 1000, {12, 13}, 6);
  // By id: the older list, though the newer one shows item 12 too.
  EXPECT_EQ(On(0, 12, "click", kT0 + 2000, "aaaa000000000001"), Attributor::Outcome::kAttributed);
  // By item: the newest open list showing it.
  EXPECT_EQ(On(0, 12, "purchase", kT0 + 3000), Attributor::Outcome::kAttributed);
  EXPECT_EQ(On(0, 10, "click", kT0 + 4000), Attributor::Outcome::kAttributed);
  // Another user's events never match.
  EXPECT_EQ(On(1, 11, "click", kT0 + 4000), Attributor::Outcome::kNotShown);
  EXPECT_EQ(On(1, 11, "click", kT0 + 4000, "aaaa000000000001"),
            Attributor::Outcome::kUnknownRecommendation);
  attributor_->CloseDue(kT0 + 31 * kMinute);
  ASSERT_EQ(closed_.lists.size(), 2u);
  const ClosedImpression& first = closed_.lists[0];
  EXPECT_EQ(first.recommendation_id, "aaaa000000000001");
  EXPECT_EQ(first.seq, 5u);
  EXPECT_EQ(first.policy, "epsilon:0.1");
  EXPECT_EQ(first.model, "bpr");
  EXPECT_EQ(first.model_version, 7u);
  ASSERT_EQ(first.slots.size(), 3u);
  EXPECT_EQ(first.slots[0].item, 10u);
  EXPECT_DOUBLE_EQ(first.slots[0].reward, 1.0);  // click
  EXPECT_TRUE(first.slots[0].clicked);
  EXPECT_EQ(first.slots[0].first_lag_ms, 4000);
  EXPECT_DOUBLE_EQ(first.slots[1].reward, 0.0);  // unanswered: the default
  EXPECT_FALSE(first.slots[1].clicked);
  EXPECT_EQ(first.slots[1].first_lag_ms, -1);
  EXPECT_DOUBLE_EQ(first.slots[2].reward, 1.0);
  EXPECT_NEAR(first.slots[2].propensity, 0.9, 1e-6);
  const ClosedImpression& second = closed_.lists[1];
  EXPECT_DOUBLE_EQ(second.slots[0].reward, 5.0);  // the purchase
  EXPECT_EQ(second.slots[0].first_lag_ms, 2000);
  const ImpressionStats s = Stats();
  EXPECT_EQ(s.recorded, 2u);
  EXPECT_EQ(s.items_shown, 5u);
  EXPECT_EQ(s.closed, 2u);
  EXPECT_EQ(s.clicked, 2u);
  EXPECT_EQ(s.attributed, 3u);
  EXPECT_EQ(s.not_shown, 1u);
  EXPECT_EQ(s.unknown_recommendation, 1u);
  EXPECT_DOUBLE_EQ(s.reward_sum, 7.0);
  EXPECT_EQ(s.positions[0].shown, 2u);
  EXPECT_EQ(s.positions[0].clicked, 2u);
  EXPECT_DOUBLE_EQ(s.positions[0].reward, 6.0);
  EXPECT_EQ(s.positions[2].shown, 1u);
  EXPECT_EQ(s.lag_counts[1], 2u);  // 2 s and 2 s (<= 2 s)
  EXPECT_EQ(s.lag_counts[2], 1u);  // 4 s
  EXPECT_EQ(s.open, 0u);
}

TEST_F(AttributorTest, SeveralEventsOnOneItemAddUpAndNegativeWeightsCount) {
  Make();
  Show(0, "r1", kT0, {1, 2});
  On(0, 1, "click", kT0 + 1000);
  On(0, 1, "purchase", kT0 + 2000);
  On(0, 2, "skip", kT0 + 3000);
  attributor_->CloseDue(kT0 + 40 * kMinute);
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_DOUBLE_EQ(closed_.lists[0].slots[0].reward, 6.0);
  EXPECT_EQ(closed_.lists[0].slots[0].first_lag_ms, 1000);
  EXPECT_DOUBLE_EQ(closed_.lists[0].slots[1].reward, -0.5);  // answered: no default reward
  EXPECT_FALSE(closed_.lists[0].slots[1].clicked);
}

TEST_F(AttributorTest, WindowRunsOnEventTimeAndLateRewardsCountAsWindowPassed) {
  LoopOptions o;
  o.attribution_window_ms = 10 * kMinute;
  Make(o);
  Show(0, "r1", kT0, {1, 2});
  // Still open at exactly the window's end.
  attributor_->CloseDue(kT0 + 10 * kMinute);
  EXPECT_TRUE(attributor_->IsOpen("r1"));
  EXPECT_EQ(On(0, 1, "click", kT0 + 10 * kMinute), Attributor::Outcome::kAttributed);
  // Another user's event one ms later closes it (the clock is the stream's).
  EXPECT_EQ(On(7, 9, "view", kT0 + 10 * kMinute + 1), Attributor::Outcome::kNotShown);
  EXPECT_FALSE(attributor_->IsOpen("r1"));
  EXPECT_TRUE(attributor_->Knows("r1"));
  ASSERT_EQ(closed_.lists.size(), 1u);
  // A reward for the closed list: by id it is window_passed; by item, not_shown.
  EXPECT_EQ(On(0, 2, "click", kT0 + 10 * kMinute + 5, "r1"), Attributor::Outcome::kWindowPassed);
  EXPECT_EQ(On(0, 2, "click", kT0 + 10 * kMinute + 6), Attributor::Outcome::kNotShown);
  // A late event (its own time inside the window) after the clock closed the list: too late.
  EXPECT_EQ(On(0, 2, "click", kT0 + 5 * kMinute, "r1"), Attributor::Outcome::kWindowPassed);
  EXPECT_EQ(closed_.lists[0].slots[1].reward, 0.0);
  const ImpressionStats s = Stats();
  EXPECT_EQ(s.window_passed, 2u);
  EXPECT_EQ(s.attributed, 1u);
  // The closed id is forgotten one window after the close.
  attributor_->CloseDue(kT0 + 21 * kMinute);
  EXPECT_FALSE(attributor_->Knows("r1"));
  EXPECT_EQ(On(0, 2, "click", kT0 + 21 * kMinute, "r1"),
            Attributor::Outcome::kUnknownRecommendation);
}

TEST_F(AttributorTest, EventsBeforeTheListOrNamingAListWithoutTheItem) {
  Make();
  Show(0, "r1", kT0 + 10 * kMinute, {1, 2});
  // Older than the list beyond the clock skew allowance: not from this list.
  EXPECT_EQ(On(0, 1, "click", kT0), Attributor::Outcome::kNotShown);
  // Within 60 s of skew: attributed with lag 0.
  EXPECT_EQ(On(0, 1, "click", kT0 + 10 * kMinute - 30'000), Attributor::Outcome::kAttributed);
  // Naming the list for an item it did not show: not_shown, no fallback.
  EXPECT_EQ(On(0, 3, "click", kT0 + 11 * kMinute, "r1"), Attributor::Outcome::kNotShown);
  attributor_->CloseDue(kT0 + 50 * kMinute);
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_EQ(closed_.lists[0].slots[0].first_lag_ms, 0);
}

TEST_F(AttributorTest, DefaultRewardForUnansweredItems) {
  LoopOptions o;
  o.default_reward = -0.25;
  o.reward_weights = "click=2,purchase=10";
  Make(o);
  Show(0, "r1", kT0, {1, 2, 3});
  On(0, 2, "click", kT0 + 1);
  On(0, 3, "view", kT0 + 2);  // the table's weight (not overridden)
  attributor_->CloseDue(kT0 + 31 * kMinute);
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_DOUBLE_EQ(closed_.lists[0].slots[0].reward, -0.25);
  EXPECT_DOUBLE_EQ(closed_.lists[0].slots[1].reward, 2.0);
  EXPECT_DOUBLE_EQ(closed_.lists[0].slots[2].reward, 0.5);
  EXPECT_DOUBLE_EQ(Stats().reward_sum, 2.25);
}

TEST_F(AttributorTest, ListsShownLongAgoCloseAtOnce) {
  Make();
  attributor_->CloseDue(kT0 + 60 * kMinute);
  Show(0, "r1", kT0, {1});
  EXPECT_EQ(closed_.lists.size(), 1u);
  EXPECT_EQ(Stats().open, 0u);
}

TEST_F(AttributorTest, DuplicateRecommendationIdsAreCountedNotReopened) {
  Make();
  Show(0, "r1", kT0, {1, 2});
  Show(0, "r1", kT0 + 5, {3});
  EXPECT_EQ(Stats().duplicates, 1u);
  EXPECT_EQ(Stats().open, 1u);
  attributor_->CloseDue(kT0 + 31 * kMinute);
  Show(0, "r1", kT0 + 31 * kMinute, {3});  // closed but remembered: still a duplicate
  EXPECT_EQ(Stats().duplicates, 2u);
  // Lists without an id are never duplicates.
  Show(0, "", kT0 + 31 * kMinute, {1});
  Show(0, "", kT0 + 31 * kMinute, {1});
  EXPECT_EQ(Stats().open, 2u);
  EXPECT_FALSE(attributor_->Knows(""));
}

TEST_F(AttributorTest, BoundsCloseTheOldestListEarly) {
  LoopOptions o;
  o.max_open_per_user = 2;
  o.max_open_items = 5;
  Make(o);
  Show(0, "a", kT0, {1, 2});
  Show(0, "b", kT0 + 1, {1, 2});
  Show(0, "c", kT0 + 2, {1});  // user bound: "a" closes
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_EQ(closed_.lists[0].recommendation_id, "a");
  Show(1, "d", kT0 + 3, {1, 2});  // 3 + 2 = 5 items: fits
  EXPECT_EQ(closed_.lists.size(), 1u);
  Show(2, "e", kT0 + 4, {1});  // 6 > 5: the oldest of all ("b") closes
  ASSERT_EQ(closed_.lists.size(), 2u);
  EXPECT_EQ(closed_.lists[1].recommendation_id, "b");
  const ImpressionStats s = Stats();
  EXPECT_EQ(s.closed_early, 2u);
  EXPECT_EQ(s.open, 3u);
  EXPECT_EQ(s.open_items, 4u);
}

TEST_F(AttributorTest, ForgettingAUserDropsTheirListsWithoutClosing) {
  Make();
  attributor_->CloseDue(kT0);
  Show(0, "r1", kT0, {1, 2});
  Show(1, "r2", kT0, {1, 2});
  Show(0, "r3", kT0 - 40 * kMinute, {1});  // closes at once: remembered
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_TRUE(attributor_->Knows("r3"));
  attributor_->ForgetUser(0);
  EXPECT_FALSE(attributor_->Knows("r1"));
  EXPECT_FALSE(attributor_->Knows("r3"));
  EXPECT_TRUE(attributor_->IsOpen("r2"));
  EXPECT_EQ(Stats().open, 1u);
  attributor_->CloseDue(kT0 + 60 * kMinute);
  ASSERT_EQ(closed_.lists.size(), 2u);
  EXPECT_EQ(closed_.lists[1].user, 1u);
}

TEST_F(AttributorTest, CloseRecordOnlyWhenSomethingIsDue) {
  Make();
  EXPECT_FALSE(attributor_->CloseRecordDue(10 * kMinute).has_value());
  Show(0, "r1", kT0, {1});
  attributor_->CloseDue(kT0);
  EXPECT_FALSE(attributor_->CloseRecordDue(30 * kMinute).has_value());  // deadline not passed
  const std::optional<Event> record = attributor_->CloseRecordDue(30 * kMinute + 1);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->type, kImpressionCloseType);
  EXPECT_EQ(record->ts_ms, kT0 + 30 * kMinute + 1);
  EXPECT_TRUE(IsImpressionRecord(*record));
}

TEST_F(AttributorTest, SaveLoadContinuesIdentically) {
  Make();
  attributor_->CloseDue(kT0);
  Show(0, "r1", kT0, {1, 2});
  Show(1, "r2", kT0 + 1000, {3, kNoItem});
  Show(1, "r0", kT0 - 31 * kMinute, {3});  // closed, remembered
  On(0, 2, "click", kT0 + 2000);
  std::string bytes;
  base::ByteWriter w(&bytes);
  attributor_->Save(&w);

  Attributor loaded(LoopOptions{}, types_);
  Collector other;
  loaded.AddListener(&other);
  base::ByteReader r(bytes, "loop");
  ASSERT_OK(loaded.Load(&r, 2, 4));
  ASSERT_OK(r.ExpectEnd());
  std::string again;
  base::ByteWriter w2(&again);
  loaded.Save(&w2);
  EXPECT_EQ(again, bytes);
  EXPECT_TRUE(loaded.Knows("r0"));
  EXPECT_TRUE(loaded.IsOpen("r2"));

  // Both go on the same way.
  for (Attributor* a : {attributor_.get(), &loaded}) {
    a->OnEvent(Ev("purchase", kT0 + 3000), 1, 3, Type("purchase"));
    a->CloseDue(kT0 + 40 * kMinute);
  }
  ASSERT_EQ(other.lists.size(), 2u);
  ASSERT_EQ(closed_.lists.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    const ClosedImpression& a = closed_.lists[i + 1];
    const ClosedImpression& b = other.lists[i];
    EXPECT_EQ(a.recommendation_id, b.recommendation_id);
    ASSERT_EQ(a.slots.size(), b.slots.size());
    for (size_t j = 0; j < a.slots.size(); ++j) {
      EXPECT_EQ(a.slots[j].item, b.slots[j].item);
      EXPECT_EQ(a.slots[j].reward, b.slots[j].reward);
      EXPECT_EQ(a.slots[j].first_lag_ms, b.slots[j].first_lag_ms);
    }
  }
  bytes.clear();
  again.clear();
  attributor_->Save(&w);
  loaded.Save(&w2);
  EXPECT_EQ(again, bytes);
}

TEST_F(AttributorTest, LoadRejectsDamage) {
  Make();
  Show(0, "r1", kT0, {1, 2});
  std::string bytes;
  base::ByteWriter w(&bytes);
  attributor_->Save(&w);
  Attributor loaded(LoopOptions{}, types_);
  {
    base::ByteReader r(bytes, "loop");
    EXPECT_THAT(loaded.Load(&r, 0, 4), StatusIs(StatusCode::kCorruption));  // user out of range
  }
  {
    base::ByteReader r(bytes, "loop");
    EXPECT_THAT(loaded.Load(&r, 1, 2), StatusIs(StatusCode::kCorruption));  // item out of range
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    base::ByteReader r(std::string_view(bytes).substr(0, cut), "loop");
    EXPECT_FALSE(loaded.Load(&r, 1, 4).ok()) << cut;
  }
  std::string bad_version = bytes;
  bad_version[0] = 9;
  base::ByteReader r(bad_version, "loop");
  EXPECT_THAT(loaded.Load(&r, 1, 4), StatusIs(StatusCode::kCorruption, HasSubstr("version")));
}

TEST(RewardWeightsTest, ParsesOverridesAndNamesBadEntries) {
  const EventTypeTable types = EventTypeTable::Default();
  Result<EventTypeTable> parsed = ParseRewardWeights(" click = 2 , buy=7", types);
  ASSERT_OK(parsed.status());
  EXPECT_FLOAT_EQ(parsed->Weight(types.Find("click").value(), 1), 2.0f);
  EXPECT_FLOAT_EQ(parsed->Weight(types.Find("purchase").value(), 1), 7.0f);  // alias
  EXPECT_FLOAT_EQ(parsed->Weight(types.Find("view").value(), 1), 0.5f);      // table weight
  for (const char* bad :
       {"click", "=1", "nope=1", "click=x", "click=inf", "click=1,click=2", "click=1e9"}) {
    EXPECT_THAT(ParseRewardWeights(bad, types).status(),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("loop.reward_weights")))
        << bad;
  }
  LoopOptions o;
  EXPECT_OK(ValidateAttributionOptions(o, types));
  o.attribution_window_ms = 0;
  EXPECT_THAT(ValidateAttributionOptions(o, types),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("attribution_window_ms")));
  o = LoopOptions{};
  o.default_reward = std::nan("");
  EXPECT_THAT(ValidateAttributionOptions(o, types),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("default_reward")));
  o = LoopOptions{};
  o.max_open_items = 0;
  EXPECT_FALSE(ValidateAttributionOptions(o, types).ok());
}

}  // namespace
}  // namespace flywheel::engine
