// The Attributor inside LearnedState: `$impression` and `$impression.close` records through
// Apply, the forget path, the snapshot section `loop`, and determinism of the whole.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/random.h"
#include "engine/learn/catalog.h"
#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/loop/impression_record.h"
#include "engine/store/snapshot_file.h"
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

Event Ev(const std::string& user, const std::string& item, const std::string& type, TimestampMs ts,
         const std::string& rec = "") {
  Event e;
  e.user = user;
  e.item = item;
  e.type = type;
  e.ts_ms = ts;
  e.recommendation_id = rec;
  return e;
}

Event Shown(const std::string& user, const std::string& rec, TimestampMs ts,
            const std::vector<std::string>& items) {
  Impression imp;
  imp.user = user;
  imp.recommendation_id = rec;
  imp.ts_ms = ts;
  imp.policy = "greedy";
  imp.model = "pop";
  for (size_t i = 0; i < items.size(); ++i) {
    imp.items.push_back(ShownItem{items[i], static_cast<uint32_t>(i), 1.0, 1.0});
  }
  return ImpressionRecord(imp);
}

class LoopStateTest : public ::testing::Test {
 protected:
  LoopStateTest() { Make(LoopOptions{}); }
  void Make(const LoopOptions& loop) {
    state_ = std::make_unique<LearnedState>(std::vector<ModelSpec>{ModelSpec{"pop", {}}},
                                            EventTypeTable::Default(), 50, loop);
    base::WriterLock lock(&state_->mu);
    state_->attributor.AddListener(&closed_);
    EXPECT_OK(state_->Reset());
  }
  LearnedState::Applied Apply(const Event& e) {
    base::WriterLock lock(&state_->mu);
    return state_->Apply(e, ++seq_);
  }
  ImpressionStats Stats() {
    ImpressionStats s;
    base::ReaderLock lock(&state_->mu);
    state_->attributor.FillStats(&s);
    return s;
  }
  ItemIdx Item(const std::string& id) {
    base::ReaderLock lock(&state_->mu);
    return state_->item_ids.Find(id).value();
  }

  std::unique_ptr<LearnedState> state_;
  Collector closed_;
  uint64_t seq_ = 0;
};

TEST_F(LoopStateTest, ImpressionRecordsOpenListsThatEventsAnswer) {
  for (int i = 0; i < 4; ++i) {
    Apply(Ev("u0", "i" + std::to_string(i), "view", kT0));
  }
  EXPECT_TRUE(Apply(Shown("u1", "00000000000000aa", kT0, {"i1", "i2", "nope"})).skipped.empty());
  const uint64_t impression_seq = seq_;
  Apply(Ev("u1", "i2", "click", kT0 + 1000, "00000000000000aa"));
  Apply(Ev("u1", "i1", "purchase", kT0 + 2000));
  ImpressionStats s = Stats();
  EXPECT_EQ(s.recorded, 1u);
  EXPECT_EQ(s.unknown_items, 1u);
  EXPECT_EQ(s.open, 1u);
  EXPECT_EQ(s.attributed, 2u);
  EXPECT_EQ(s.not_shown, 4u);  // the organic views
  {
    base::ReaderLock lock(&state_->mu);
    EXPECT_TRUE(state_->attributor.IsOpen("00000000000000aa"));
    EXPECT_TRUE(state_->user_ids.Find("u1").has_value());  // known from its impression on
  }
  // A close record at the window's end + 1 closes it (as the learner's tick logs it).
  Apply(ImpressionCloseRecord(kT0 + 30 * kMinute + 1));
  ASSERT_EQ(closed_.lists.size(), 1u);
  const ClosedImpression& c = closed_.lists[0];
  EXPECT_EQ(c.seq, impression_seq);
  EXPECT_EQ(c.slots[0].item, Item("i1"));
  EXPECT_DOUBLE_EQ(c.slots[0].reward, 5.0);
  EXPECT_EQ(c.slots[1].item, Item("i2"));
  EXPECT_DOUBLE_EQ(c.slots[1].reward, 1.0);
  EXPECT_EQ(c.slots[2].item, kNoItem);
  EXPECT_DOUBLE_EQ(c.slots[2].reward, 0.0);
  s = Stats();
  EXPECT_EQ(s.closed, 1u);
  EXPECT_EQ(s.clicked, 1u);
  // The close record moved the attributor's clock, not the learned event time.
  base::ReaderLock lock(&state_->mu);
  EXPECT_EQ(state_->last_event_ms, kT0 + 2000);
  EXPECT_EQ(state_->attributor.clock(), kT0 + 30 * kMinute + 1);
}

TEST(LoopNegativesTest, ItemsMovedByNegativesAreReportedForTheIndex) {
  // bpr learns from impressions: the ignored items of a closed list are negatives, and the
  // record that closed it names them (the learner marks them dirty for the ANN index).
  LoopOptions loop;
  loop.position_bias = "none";
  LearnedState state({ModelSpec{"bpr", {}}}, EventTypeTable::Default(), 50, loop);
  base::WriterLock lock(&state.mu);
  ASSERT_OK(state.Reset());
  uint64_t seq = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(state.Apply(Ev("u0", "i" + std::to_string(i), "click", kT0), ++seq).moved.empty());
  }
  EXPECT_TRUE(
      state.Apply(Shown("u1", "00000000000000bb", kT0, {"i1", "i2", "i3"}), ++seq).moved.empty());
  state.Apply(Ev("u1", "i2", "click", kT0 + 1000, "00000000000000bb"), ++seq);
  const LearnedState::Applied closing =
      state.Apply(ImpressionCloseRecord(kT0 + 31 * kMinute), ++seq);
  std::vector<ItemIdx> moved = closing.moved;
  std::sort(moved.begin(), moved.end());
  EXPECT_EQ(moved, (std::vector<ItemIdx>{*state.item_ids.Find("i1"), *state.item_ids.Find("i3")}));
  // Taken: the next record reports nothing more.
  EXPECT_TRUE(state.Apply(ImpressionCloseRecord(kT0 + 32 * kMinute), ++seq).moved.empty());
}

TEST_F(LoopStateTest, BadImpressionRecordsAreSkippedAndCounted) {
  Event bad = Shown("u1", "r", kT0, {"i1"});
  bad.context.pop_back();
  const LearnedState::Applied applied = Apply(bad);
  EXPECT_THAT(applied.skipped, HasSubstr("skipped a control record"));
  EXPECT_THAT(applied.skipped, HasSubstr("impression record"));
  EXPECT_EQ(Stats().bad_records, 1u);
  EXPECT_EQ(Stats().recorded, 0u);
}

TEST_F(LoopStateTest, ForgettingAUserRemovesTheirImpressions) {
  Apply(Ev("u1", "i1", "view", kT0));
  Apply(Ev("u2", "i1", "view", kT0));
  Apply(Shown("u1", "r1", kT0, {"i1"}));
  Apply(Shown("u2", "r2", kT0, {"i1"}));
  Apply(UserDeleteRecord("u1"));
  EXPECT_EQ(Stats().open, 1u);
  {
    base::ReaderLock lock(&state_->mu);
    EXPECT_FALSE(state_->attributor.Knows("r1"));
  }
  // The id, seen again, is a new user without lists.
  EXPECT_EQ(Stats().not_shown, 2u);
  Apply(Ev("u1", "i1", "click", kT0 + 1000));
  EXPECT_EQ(Stats().not_shown, 3u);
  Apply(Ev("u2", "i1", "click", kT0 + 60 * kMinute));  // past the window: closes r2 only
  ASSERT_EQ(closed_.lists.size(), 1u);
  EXPECT_EQ(closed_.lists[0].recommendation_id, "r2");
  EXPECT_EQ(Stats().closed, 1u);
}

TEST_F(LoopStateTest, SnapshotsKeepOpenListsAndOlderSnapshotsLoadWithoutThem) {
  Apply(Ev("u1", "i1", "view", kT0));
  Apply(Shown("u1", "r1", kT0, {"i1"}));
  std::vector<SnapshotSection> sections;
  {
    base::ReaderLock lock(&state_->mu);
    ASSERT_OK(state_->Save(seq_, &sections));
  }
  LearnedState b({ModelSpec{"pop", {}}}, EventTypeTable::Default(), 50);
  Collector other;
  {
    base::WriterLock lock(&b.mu);
    b.attributor.AddListener(&other);
  }
  {
    const std::string bytes = EncodeSnapshot(seq_, sections);
    Result<SnapshotView> view = DecodeSnapshot(bytes, "s");
    ASSERT_OK(view.status());
    base::WriterLock lock(&b.mu);
    ASSERT_OK(b.Reset());
    ASSERT_OK(b.Load(*view, "s"));
    EXPECT_TRUE(b.attributor.IsOpen("r1"));
    b.Apply(Ev("u1", "i1", "click", kT0 + 5));
    b.Apply(ImpressionCloseRecord(kT0 + 31 * kMinute));
  }
  ASSERT_EQ(other.lists.size(), 1u);
  EXPECT_DOUBLE_EQ(other.lists[0].slots[0].reward, 1.0);

  std::vector<SnapshotSection> old;
  for (SnapshotSection& s : sections) {
    if (s.name != "loop") {
      old.push_back(std::move(s));
    }
  }
  ASSERT_EQ(old.size() + 1, sections.size());
  const std::string bytes = EncodeSnapshot(seq_, old);
  Result<SnapshotView> view = DecodeSnapshot(bytes, "old");
  ASSERT_OK(view.status());
  base::WriterLock lock(&b.mu);
  ASSERT_OK(b.Reset());
  ASSERT_OK(b.Load(*view, "old"));
  EXPECT_EQ(b.attributor.open_lists(), 0u);
}

TEST_F(LoopStateTest, ResetRefusesBadLoopOptions) {
  LoopOptions loop;
  loop.reward_weights = "click=2,teleport=1";
  LearnedState state({ModelSpec{"pop", {}}}, EventTypeTable::Default(), 50, loop);
  base::WriterLock lock(&state.mu);
  EXPECT_THAT(state.Reset(), StatusIs(StatusCode::kInvalidArgument, HasSubstr("teleport")));
}

TEST(LoopLearnerTest, ImpressionRecordsDoNotRebuildTheTrendingLists) {
  EXPECT_TRUE(Learner::TrendingDue(1005, UserDeleteRecord("u")));
  EXPECT_FALSE(Learner::TrendingDue(1005, Shown("u", "r", 1, {"i"})));
  EXPECT_FALSE(Learner::TrendingDue(1005, ImpressionCloseRecord(1)));
  EXPECT_TRUE(Learner::TrendingDue(1100, ImpressionCloseRecord(1)));  // the periodic schedule
}

// A random log of events, impressions (by id and without), close records and forgets.
std::vector<Event> RandomLog(uint64_t seed, size_t n) {
  base::Rng rng(seed);
  std::vector<Event> log;
  std::map<std::string, std::vector<std::string>> recs;  // by user
  TimestampMs t = kT0;
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<TimestampMs>(rng.Uniform(20'000));
    const std::string user = "u" + std::to_string(rng.Uniform(12));
    const uint64_t kind = rng.Uniform(100);
    if (kind < 25) {
      std::vector<std::string> items;
      for (uint64_t j = 0, k = 1 + rng.Uniform(6); j < k; ++j) {
        const std::string item = "i" + std::to_string(rng.Uniform(30));
        if (std::find(items.begin(), items.end(), item) == items.end()) {
          items.push_back(item);
        }
      }
      const std::string rec = rng.Bernoulli(0.8) ? "r" + std::to_string(i) : "";
      if (!rec.empty()) {
        recs[user].push_back(rec);
      }
      log.push_back(Shown(user, rec, t - static_cast<TimestampMs>(rng.Uniform(5000)), items));
    } else if (kind < 27) {
      log.push_back(ImpressionCloseRecord(t + static_cast<TimestampMs>(rng.Uniform(600'000))));
    } else if (kind < 28) {
      log.push_back(UserDeleteRecord(user));
    } else {
      const char* types[] = {"view", "click", "purchase", "skip"};
      Event e = Ev(user, "i" + std::to_string(rng.Uniform(30)), types[rng.Uniform(4)],
                   t - static_cast<TimestampMs>(rng.Uniform(3000)));
      const std::vector<std::string>& mine = recs[user];
      if (rng.Bernoulli(0.3) && !mine.empty()) {  // one of the user's last two lists
        e.recommendation_id = mine[mine.size() - 1 - rng.Uniform(std::min<size_t>(mine.size(), 2))];
      } else if (rng.Bernoulli(0.05) && i > 0) {  // anyone's, mostly unknown
        e.recommendation_id = "r" + std::to_string(rng.Uniform(i));
      }
      log.push_back(e);
    }
  }
  return log;
}

std::string Bytes(const LearnedState& state, uint64_t seq) {
  std::vector<SnapshotSection> sections;
  base::ReaderLock lock(&state.mu);
  EXPECT_OK(state.Save(seq, &sections));
  return EncodeSnapshot(seq, sections);
}

void ExpectSameLists(const std::vector<ClosedImpression>& a,
                     const std::vector<ClosedImpression>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].seq, b[i].seq) << i;
    EXPECT_EQ(a[i].user, b[i].user) << i;
    ASSERT_EQ(a[i].slots.size(), b[i].slots.size()) << i;
    for (size_t j = 0; j < a[i].slots.size(); ++j) {
      EXPECT_EQ(a[i].slots[j].item, b[i].slots[j].item);
      EXPECT_EQ(a[i].slots[j].reward, b[i].slots[j].reward);
      EXPECT_EQ(a[i].slots[j].clicked, b[i].slots[j].clicked);
      EXPECT_EQ(a[i].slots[j].first_lag_ms, b[i].slots[j].first_lag_ms);
    }
  }
}

TEST(LoopDeterminismTest, TheSameLogGivesTheSameClosedListsAndState) {
  LoopOptions loop;
  loop.attribution_window_ms = 5 * kMinute;
  loop.max_open_per_user = 4;
  loop.max_open_items = 60;
  const std::vector<Event> log = RandomLog(11, 3000);
  const std::vector<ModelSpec> specs = {ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}};
  struct Run {
    std::unique_ptr<LearnedState> state;
    Collector closed;
  };
  auto make = [&](Run* run) {
    run->state = std::make_unique<LearnedState>(specs, EventTypeTable::Default(), 50, loop);
    base::WriterLock lock(&run->state->mu);
    run->state->attributor.AddListener(&run->closed);
    ASSERT_OK(run->state->Reset());
  };
  auto apply = [](Run* run, const std::vector<Event>& events, size_t from, size_t to) {
    base::WriterLock lock(&run->state->mu);
    for (size_t i = from; i < to; ++i) {
      run->state->Apply(events[i], i + 1);
    }
  };
  Run a, b, c;
  make(&a);
  make(&b);
  make(&c);
  apply(&a, log, 0, log.size());
  apply(&b, log, 0, log.size());
  ExpectSameLists(a.closed.lists, b.closed.lists);
  EXPECT_EQ(Bytes(*a.state, 1), Bytes(*b.state, 1));
  const ImpressionStats s = [&] {
    ImpressionStats out;
    base::ReaderLock lock(&a.state->mu);
    a.state->attributor.FillStats(&out);
    return out;
  }();
  // The log exercised every path.
  EXPECT_GT(s.closed, 100u);
  EXPECT_GT(s.closed_early, 0u);
  EXPECT_GT(s.attributed, 50u);
  EXPECT_GT(s.window_passed, 0u);
  EXPECT_GT(s.unknown_recommendation, 0u);

  // Halfway through: a snapshot, loaded into a fresh state that goes on with the rest.
  const size_t half = log.size() / 2;
  apply(&c, log, 0, half);
  const std::string mid = Bytes(*c.state, half);
  const size_t closed_before = c.closed.lists.size();
  Run d;
  make(&d);
  {
    Result<SnapshotView> view = DecodeSnapshot(mid, "mid");
    ASSERT_OK(view.status());
    base::WriterLock lock(&d.state->mu);
    ASSERT_OK(d.state->Load(*view, "mid"));
  }
  apply(&d, log, half, log.size());
  ExpectSameLists(
      std::vector<ClosedImpression>(a.closed.lists.begin() + closed_before, a.closed.lists.end()),
      d.closed.lists);
  EXPECT_EQ(Bytes(*d.state, 1), Bytes(*a.state, 1));
}

}  // namespace
}  // namespace flywheel::engine
