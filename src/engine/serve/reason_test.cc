#include "engine/serve/reason.h"

#include <gtest/gtest.h>

namespace flywheel::engine {
namespace {

class ReasonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Item heat;
    heat.id = "m1";
    heat.title = "Heat";
    heat.categories = {"drama", "crime"};
    catalog_.PutItem(ids_.GetOrAdd("m1"), heat, 1000);
    catalog_.EnsureItem(ids_.GetOrAdd("m2"), 1000);  // no content: named by its id
  }
  std::string Text(const Reason& r, ItemIdx item) const {
    return FormatReason(r, item, catalog_, ids_, types_);
  }

  const EventTypeTable types_ = EventTypeTable::Default();
  data::IdMap ids_;
  Catalog catalog_;
};

TEST_F(ReasonTest, EveryKindHasItsText) {
  const EventTypeId purchase = types_.Find("purchase").value();
  const EventTypeId view = types_.Find("view").value();
  EXPECT_EQ(Text(Reason{ReasonKind::kBecause, 0, purchase}, 1), "because you bought Heat");
  EXPECT_EQ(Text(Reason{ReasonKind::kBecause, 1, view}, 0), "because you viewed m2");
  EXPECT_EQ(Text(Reason{ReasonKind::kBecauseSimilar, 0, view}, 1),
            "because you viewed Heat and similar items");
  EXPECT_EQ(Text(Reason{ReasonKind::kPopular, kNoItem, 0}, 0), "popular in drama now");
  EXPECT_EQ(Text(Reason{ReasonKind::kPopular, kNoItem, 0}, 1), "popular now");
  EXPECT_EQ(Text(Reason{ReasonKind::kNew, kNoItem, 0}, 0), "new in drama");
  EXPECT_EQ(Text(Reason{ReasonKind::kNew, kNoItem, 0}, 1), "new");
  EXPECT_EQ(Text(Reason{ReasonKind::kSimilarTo, 0, 0}, 1), "similar to Heat");
  EXPECT_EQ(Text(Reason{ReasonKind::kForYou, kNoItem, 0}, 0), "recommended for you");
}

TEST_F(ReasonTest, KindNamesAreTheApiNames) {
  EXPECT_STREQ(ReasonKindName(ReasonKind::kBecause), "because");
  EXPECT_STREQ(ReasonKindName(ReasonKind::kBecauseSimilar), "because_similar");
  EXPECT_STREQ(ReasonKindName(ReasonKind::kPopular), "popular");
  EXPECT_STREQ(ReasonKindName(ReasonKind::kNew), "new");
  EXPECT_STREQ(ReasonKindName(ReasonKind::kSimilarTo), "similar");
  EXPECT_STREQ(ReasonKindName(ReasonKind::kForYou), "for_you");
}

TEST(PastTenseVerbTest, KnownAndUnknownTypes) {
  EXPECT_EQ(PastTenseVerb("cart"), "added to your cart");
  EXPECT_EQ(PastTenseVerb("play"), "played");
  EXPECT_EQ(PastTenseVerb("teleport"), "interacted with");
}

}  // namespace
}  // namespace flywheel::engine
