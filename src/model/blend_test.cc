#include "model/blend.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/registry.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

constexpr ItemIdx kItems = 200;

// A test double that knows each user's next item (set by the test before the event) and ranks
// it first for users whose history length it is "good at"; otherwise it ranks it `miss_rank`-th
// (or not at all when miss_rank is 0). Other slots are filled with fixed items of its own.
class NextItemOracle final : public Recommender {
 public:
  NextItemOracle(std::string name, size_t min_seen, size_t max_seen, const ItemIdx* next,
                 ItemIdx filler_base, int miss_rank = 0, std::vector<int64_t>* log = nullptr)
      : log_(log),
        log_index_(log != nullptr ? log->size() : 0),
        name_(std::move(name)),
        min_seen_(min_seen),
        max_seen_(max_seen),
        next_(next),
        filler_base_(filler_base),
        miss_rank_(miss_rank) {}

  std::string name() const override { return name_; }
  KeyValues params() const override { return {}; }
  void Observe(const data::Interaction& event, const UserState& /*user*/) override {
    ++observed_;
    if (log_ != nullptr) {
      (*log_)[log_index_] = observed_;
    }
    known_ = std::max<size_t>(known_, event.item + 1);
  }
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override {
    out->clear();
    const size_t seen = request.user_state->seen_items().size();
    const bool good = seen >= min_seen_ && seen <= max_seen_;
    const int target_rank = good ? 1 : miss_rank_;
    ItemIdx filler = filler_base_;
    for (int r = 1; r <= request.k; ++r) {
      if (r == target_rank) {
        out->push_back({*next_, 1.0f / static_cast<float>(r)});
        continue;
      }
      while (filler == *next_ || request.user_state->HasSeen(filler)) {
        ++filler;
      }
      out->push_back({filler++, 1.0f / static_cast<float>(r)});
    }
  }
  size_t num_items() const override { return kItems; }
  Status SaveState(base::ByteWriter* out) const override {
    out->Put<int64_t>(observed_);
    return Status::Ok();
  }
  Status LoadState(base::ByteReader* in) override { return in->Get(&observed_, "oracle"); }

  int64_t observed() const { return observed_; }

 private:
  std::vector<int64_t>* log_;  // (*log_)[log_index_]: observed_, outliving the oracle
  size_t log_index_;
  std::string name_;
  size_t min_seen_;
  size_t max_seen_;
  const ItemIdx* next_;
  ItemIdx filler_base_;
  int miss_rank_;
  int64_t observed_ = 0;
  size_t known_ = 0;
};

// A factory of oracles; with a `log`, each oracle made appends its Observe count to it (in the
// order they were made), so tests can read the counts of oracles the blend dropped.
Blend::ArmFactory Oracle(std::string name, size_t min_seen, size_t max_seen, const ItemIdx* next,
                         ItemIdx filler_base, int miss_rank = 0,
                         std::vector<int64_t>* log = nullptr) {
  return [=]() -> Result<std::unique_ptr<Recommender>> {
    auto oracle = std::make_unique<NextItemOracle>(name, min_seen, max_seen, next, filler_base,
                                                   miss_rank, log);
    if (log != nullptr) {
      log->push_back(0);
    }
    return std::unique_ptr<Recommender>(std::move(oracle));
  };
}

data::Interaction Event(UserIdx user, ItemIdx item, TimestampMs ts) {
  data::Interaction e;
  e.user = user;
  e.item = item;
  e.ts_ms = ts;
  e.weight = 1.0f;
  return e;
}

// Streams `users` users, each with `per_user` distinct items, through the blend (Observe with
// the state before each event), setting *next to each event's item first.
void Stream(Blend* blend, ItemIdx* next, int users, int per_user, UserStateStore* states) {
  TimestampMs ts = 0;
  for (int round = 0; round < per_user; ++round) {
    for (int u = 0; u < users; ++u) {
      const auto item = static_cast<ItemIdx>((u * 7 + round * 13) % 100);
      data::Interaction e = Event(static_cast<UserIdx>(u), item, ++ts);
      UserState& state = states->Get(e.user);
      if (state.HasSeen(item)) {
        continue;
      }
      *next = item;
      blend->Observe(e, state);
      state.Add(e);
    }
  }
}

TEST(BlendTest, SegmentsByDistinctItems) {
  EXPECT_EQ(Blend::Segment(0), 0);
  EXPECT_EQ(Blend::Segment(1), 1);
  EXPECT_EQ(Blend::Segment(2), 2);
  EXPECT_EQ(Blend::Segment(3), 2);
  EXPECT_EQ(Blend::Segment(4), 3);
  EXPECT_EQ(Blend::Segment(63), 6);
  EXPECT_EQ(Blend::Segment(64), 7);
  EXPECT_EQ(Blend::Segment(100000), 7);
}

TEST(BlendTest, ServesTheArmThatWinsEachSegment) {
  ItemIdx next = 0;
  std::vector<Blend::ArmFactory> children;
  children.push_back(Oracle("long", 4, 1000, &next, 1000));
  children.push_back(Oracle("short", 0, 3, &next, 3000));
  BlendOptions options;
  options.prior = 1;
  options.fusion = false;  // (the fused arm would equal the winner of each segment here)
  auto blend = Blend::Create(options, std::move(children));
  ASSERT_OK(blend);
  // No record yet: the last child (popularity's place) is preferred.
  EXPECT_EQ((*blend)->arm_names()[(*blend)->ChosenArm(5)], "short");
  UserStateStore states;
  Stream(blend->get(), &next, 40, 12, &states);
  EXPECT_GT((*blend)->judged(), 400);
  for (int s : {0, 1, 2}) {
    EXPECT_EQ((*blend)->arm_names()[(*blend)->ChosenArm(s)], "short") << s;
  }
  for (int s : {3, 4}) {
    EXPECT_EQ((*blend)->arm_names()[(*blend)->ChosenArm(s)], "long") << s;
  }
  EXPECT_NEAR((*blend)->RecordMean(4, 0), 1.0, 0.05);
  EXPECT_NEAR((*blend)->RecordMean(4, 1), 0.0, 0.05);

  // The served list is the chosen arm's: a user with 5 items gets "long"'s first item.
  next = 42;
  RecommendRequest request;
  request.user = 0;
  request.k = 10;
  request.user_state = &states.Get(0);
  std::vector<ScoredItem> top;
  (*blend)->Recommend(request, &top);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].item, 42u);
  const KeyValues diagnostics = (*blend)->diagnostics();
  ASSERT_GE(diagnostics.size(), 5u);
  EXPECT_THAT(diagnostics[4].second, HasSubstr("long"));
}

TEST(BlendTest, FusionWinsWhenEveryArmNearlyHits) {
  ItemIdx next = 0;
  std::vector<Blend::ArmFactory> children;
  // Both rank the next item 11th (outside the top 10): alone they never hit; fused, the one item
  // both offer outranks every item only one of them offers.
  children.push_back(Oracle("a", 1000, 1000, &next, 1000, 11));
  children.push_back(Oracle("b", 1000, 1000, &next, 3000, 11));
  auto blend = Blend::Create(BlendOptions{}, std::move(children));
  ASSERT_OK(blend);
  UserStateStore states;
  Stream(blend->get(), &next, 20, 6, &states);
  EXPECT_EQ((*blend)->arm_names()[(*blend)->ChosenArm(2)], "fusion1");  // first on ties
  for (size_t f = 2; f < 5; ++f) {
    EXPECT_NEAR((*blend)->RecordMean(2, f), 1.0, 1e-9) << (*blend)->arm_names()[f];
  }
  EXPECT_EQ((*blend)->RecordMean(2, 0), 0.0);
}

TEST(BlendTest, JudgeShareZeroLearnsButNeverJudges) {
  ItemIdx next = 0;
  std::vector<int64_t> observed;
  std::vector<Blend::ArmFactory> children;
  children.push_back(Oracle("a", 0, 1000, &next, 100, 0, &observed));
  BlendOptions options;
  options.judge = 0;
  auto blend = Blend::Create(options, std::move(children));
  ASSERT_OK(blend);
  UserStateStore states;
  Stream(blend->get(), &next, 10, 5, &states);
  EXPECT_EQ((*blend)->judged(), 0);
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_GT(observed[0], 40);
}

TEST(BlendTest, FitJudgesEachUsersLastNewItemThenLearnsIt) {
  ItemIdx next = 0;
  std::vector<int64_t> observed;
  std::vector<Blend::ArmFactory> children;
  children.push_back(Oracle("a", 0, 1000, &next, 100, 0, &observed));
  BlendOptions options;
  options.refit = false;
  auto blend = Blend::Create(options, std::move(children));
  ASSERT_OK(blend);
  std::vector<data::Interaction> history;
  TimestampMs ts = 0;
  for (UserIdx u = 0; u < 5; ++u) {
    for (ItemIdx i = 0; i < 3; ++i) {
      history.push_back(Event(u, u * 10 + i, ++ts));
    }
  }
  history.push_back(Event(5, 60, ++ts));  // one item only: nothing held out
  ASSERT_OK((*blend)->Fit(history));
  // Five users held one item out each: judged by a fresh arm fitted on the other 11 (the
  // oracle's `next` is stale, so a miss); without a refit that arm is kept and learns the five
  // online.
  EXPECT_EQ((*blend)->judged(), 5);
  ASSERT_EQ(observed.size(), 2u);  // the arm made at creation, then the judging one (kept)
  EXPECT_EQ(observed[0], 0);
  EXPECT_EQ(observed[1], 16);

  // With a refit (the default), the arm made at creation fits on all 16 events after the
  // judging, and the judging arm is dropped.
  observed.clear();
  std::vector<Blend::ArmFactory> again;
  again.push_back(Oracle("a", 0, 1000, &next, 100, 0, &observed));
  auto refit = Blend::Create(BlendOptions{}, std::move(again));
  ASSERT_OK(refit);
  ASSERT_OK((*refit)->Fit(history));
  EXPECT_EQ((*refit)->judged(), 5);
  ASSERT_EQ(observed.size(), 2u);
  EXPECT_EQ(observed[1], 11);  // the probe saw the training part only
  EXPECT_EQ(observed[0], 16);  // the served arm saw everything, once
}

TEST(BlendTest, StateRoundTripsAndCorruptionIsRefused) {
  ItemIdx next = 0;
  auto make = [&next]() {
    std::vector<Blend::ArmFactory> children;
    children.push_back(Oracle("long", 4, 1000, &next, 100));
    children.push_back(Oracle("short", 0, 3, &next, 150));
    return std::move(*Blend::Create(BlendOptions{}, std::move(children)));
  };
  auto blend = make();
  UserStateStore states;
  Stream(blend.get(), &next, 30, 8, &states);
  std::string bytes;
  base::ByteWriter out(&bytes);
  ASSERT_OK(blend->SaveState(&out));
  auto loaded = make();
  base::ByteReader in(bytes, "blend");
  ASSERT_OK(loaded->LoadState(&in));
  ASSERT_OK(in.ExpectEnd());
  EXPECT_EQ(loaded->judged(), blend->judged());
  for (int s = 0; s < Blend::kSegments; ++s) {
    EXPECT_EQ(loaded->ChosenArm(s), blend->ChosenArm(s));
    for (size_t a = 0; a < blend->arm_names().size(); ++a) {
      EXPECT_EQ(loaded->RecordMean(s, a), blend->RecordMean(s, a));
    }
  }
  for (size_t cut : {size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    auto broken = make();
    base::ByteReader short_in(std::string_view(bytes).substr(0, cut), "blend");
    EXPECT_THAT(broken->LoadState(&short_in), StatusIs(StatusCode::kCorruption)) << cut;
  }
  std::string bad = bytes;
  bad[0] = 9;  // version
  auto broken = make();
  base::ByteReader bad_in(bad, "blend");
  EXPECT_THAT(broken->LoadState(&bad_in), StatusIs(StatusCode::kCorruption, HasSubstr("version")));
}

TEST(BlendTest, RegistryRoutesArmParametersAndRefusesUnknownOnes) {
  auto model = CreateRecommender("default", {{"sasrec.dim", "16"}, {"judge", "0.5"}});
  ASSERT_OK(model);
  const KeyValues params = (*model)->params();
  EXPECT_NE(std::find(params.begin(), params.end(),
                      std::pair<std::string, std::string>{"sasrec.dim", "16"}),
            params.end());
  EXPECT_NE(
      std::find(params.begin(), params.end(), std::pair<std::string, std::string>{"judge", "0.5"}),
      params.end());
  EXPECT_THAT(CreateRecommender("default", {{"bpr.dim", "8"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("names no arm")));
  EXPECT_THAT(CreateRecommender("default", {{"sasrec.dimm", "8"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown parameter 'dimm'")));
  EXPECT_THAT(CreateRecommender("default", {{"judge", "2"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("judge")));
}

}  // namespace
}  // namespace flywheel::model
