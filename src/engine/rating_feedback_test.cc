// Ratings below EngineOptions::rating_threshold are negative feedback: never a positive for
// the models, never a seed of neighbours, never a reason ("because you rated X" for a user
// who rated X one star was the trap of issue 18).
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"

#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

constexpr TimestampMs kT0 = 1'700'000'000'000;

Event Rating(const std::string& user, const std::string& item, double stars, int n) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = "rating";
  e.value = stars;
  e.ts_ms = kT0 + n * 1000;
  return e;
}

// Ten fans rate "loved" and "sequel" 5 stars (the two co-occur); "hater" rates "loved" 1 star;
// "meh" is rated 2 stars by twelve other users (the most rated item, liked by none).
std::vector<Event> Stream() {
  std::vector<Event> events;
  int n = 0;
  for (int u = 0; u < 10; ++u) {
    events.push_back(Rating("fan" + std::to_string(u), "loved", 5, n++));
    events.push_back(Rating("fan" + std::to_string(u), "sequel", 5, n++));
  }
  for (int u = 0; u < 12; ++u) {
    events.push_back(Rating("bored" + std::to_string(u), "meh", 2, n++));
  }
  events.push_back(Rating("hater", "loved", 1, n++));
  return events;
}

struct Served {
  std::vector<Recommendation> hater;
  std::vector<Recommendation> newcomer;  // pop for an unknown user
};

Served ServeStream(double threshold) {
  TempDir dir;
  EngineOptions o;
  o.data_dir = dir.path();
  o.models = {ModelSpec{"itemknn", {}}, ModelSpec{"pop", {}}};
  o.snapshot_on_close = false;
  o.rating_threshold = threshold;
  auto engine = Engine::Open(o);
  EXPECT_OK(engine.status());
  if (!engine.ok()) {
    return {};
  }
  const std::vector<Event> events = Stream();
  auto ack = (*engine)->Ingest(events);
  EXPECT_OK(ack.status());
  EXPECT_OK((*engine)->WaitForApplied(events.size(), 10000));
  RecommendQuery q;
  q.user = "hater";
  q.k = 3;
  q.explain = true;
  Served served;
  auto rec = (*engine)->Recommend(q);
  EXPECT_OK(rec.status());
  served.hater = rec.ok() ? rec->items : std::vector<Recommendation>{};
  q.user = "newcomer";
  q.model = "pop";
  rec = (*engine)->Recommend(q);
  EXPECT_OK(rec.status());
  served.newcomer = rec.ok() ? rec->items : std::vector<Recommendation>{};
  EXPECT_OK((*engine)->Close());
  return served;
}

TEST(RatingFeedbackTest, ALowRatingIsNeverAReasonNorASeed) {
  const Served served = ServeStream(3.5);
  ASSERT_FALSE(served.hater.empty());
  for (const Recommendation& r : served.hater) {
    SCOPED_TRACE(r.item + ": " + r.reason);
    EXPECT_NE(r.reason_item, "loved");
    EXPECT_THAT(r.reason, ::testing::Not(HasSubstr("loved")));
    EXPECT_NE(r.reason_kind, "because");
    for (const auto& [item, share] : r.because) {
      EXPECT_NE(item, "loved");
    }
  }
}

TEST(RatingFeedbackTest, PopularityCountsOnlyRatingsAtOrAboveTheThreshold) {
  const Served served = ServeStream(3.5);
  ASSERT_GE(served.newcomer.size(), 2u);
  // "meh" has the most ratings (12, all 2 stars) but no positive one: it ranks after the two
  // liked items (10 positives each), with a trending count of 0.
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_THAT(served.newcomer[i].item, ::testing::AnyOf("loved", "sequel"));
    EXPECT_GT(served.newcomer[i].score, 4.0f);  // ~10 rating weights, barely decayed
  }
  for (size_t i = 2; i < served.newcomer.size(); ++i) {
    EXPECT_EQ(served.newcomer[i].item, "meh");
    EXPECT_EQ(served.newcomer[i].score, 0.0f);
  }
}

TEST(RatingFeedbackTest, TheThresholdIsConfigurable) {
  // Threshold 1: every rating of the stream is a positive, and the 1-star rating is a seed.
  const Served served = ServeStream(1.0);
  ASSERT_FALSE(served.hater.empty());
  EXPECT_EQ(served.hater[0].item, "sequel");
  EXPECT_EQ(served.hater[0].reason_item, "loved");
  ASSERT_FALSE(served.newcomer.empty());
  EXPECT_EQ(served.newcomer[0].item, "meh");  // now 12 positives, the most
}

TEST(RatingFeedbackTest, ANonFiniteThresholdIsRejected) {
  TempDir dir;
  EngineOptions o;
  o.data_dir = dir.path();
  o.rating_threshold = std::nan("");
  EXPECT_THAT(Engine::Open(o).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("rating_threshold")));
}

TEST(RatingFeedbackTest, EventTypeWeightIsNegativeBelowTheThreshold) {
  EventTypeTable types = EventTypeTable::Default();
  const EventTypeId rating = types.Find("rating").value();
  const EventTypeId click = types.Find("click").value();
  EXPECT_LT(types.Weight(rating, 1.0), 0.0f);
  EXPECT_LT(types.Weight(rating, 3.0), 0.0f);
  EXPECT_GT(types.Weight(rating, 3.5), 0.0f);
  EXPECT_GT(types.Weight(rating, 5.0), 0.0f);
  EXPECT_GT(types.Weight(click, 0.0), 0.0f);  // only ratings compare their value
  EXPECT_TRUE(types.IsRating(rating));
  EXPECT_FALSE(types.IsRating(click));
  ASSERT_OK(types.set_rating_threshold(0.5));
  EXPECT_GT(types.Weight(rating, 1.0), 0.0f);
  EXPECT_THAT(types.set_rating_threshold(INFINITY), StatusIs(StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace flywheel
