#include "engine/loop/impression_record.h"

#include <cmath>

#include <gtest/gtest.h>

#include "wal/event_codec.h"

namespace flywheel::engine {
namespace {

Impression Sample() {
  Impression imp;
  imp.user = "u1";
  imp.recommendation_id = "00000000deadbeef";
  imp.ts_ms = 1700000000000;
  imp.policy = "epsilon:0.1";
  imp.model = "bpr";
  imp.model_version = 18342;
  imp.items = {{"i9", 0, 0.9, 0.9}, {"i4", 1, 0.005, 0.0049}, {"i77", 3, 1.0, 1.0}};
  return imp;
}

TEST(ImpressionRecordTest, RoundTripsThroughTheLogCodec) {
  const Impression imp = Sample();
  ASSERT_TRUE(ValidateImpression(imp).ok());
  const Event record = ImpressionRecord(imp);
  std::string payload;
  wal::EncodeEvent(7, record, &payload);
  wal::LogRecord decoded;
  ASSERT_TRUE(wal::DecodeEvent(payload, &decoded).ok());
  auto back = DecodeImpression(decoded.event);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->user, "u1");
  EXPECT_EQ(back->recommendation_id, imp.recommendation_id);
  EXPECT_EQ(back->ts_ms, imp.ts_ms);
  EXPECT_EQ(back->policy, "epsilon:0.1");
  EXPECT_EQ(back->model, "bpr");
  EXPECT_EQ(back->model_version, 18342u);
  ASSERT_EQ(back->items.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back->items[i].item, imp.items[i].item);
    EXPECT_EQ(back->items[i].position, imp.items[i].position);
    EXPECT_FLOAT_EQ(static_cast<float>(back->items[i].propensity),
                    static_cast<float>(imp.items[i].propensity));
    EXPECT_FLOAT_EQ(static_cast<float>(back->items[i].step), static_cast<float>(imp.items[i].step));
  }
}

TEST(ImpressionRecordTest, UnknownPropensitiesStayUnknownAndTheRecordIsCompact) {
  Impression imp;
  imp.user = "u";
  for (uint32_t i = 0; i < 10; ++i) {
    imp.items.push_back(
        {"item" + std::to_string(1000 + i), i, kUnknownPropensity, kUnknownPropensity});
  }
  const Event record = ImpressionRecord(imp);
  std::string payload;
  wal::EncodeEvent(1, record, &payload);
  // doc/formats/event_log.md: about 10 bytes per item plus its id (8 bytes here), plus the
  // record's fixed part; the budget is 64 bytes per shown item.
  EXPECT_LT(payload.size() + 9, 10u * 32u) << payload.size();
  auto back = DecodeImpression(record);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->items[4].propensity));
  EXPECT_TRUE(std::isnan(back->items[4].step));
}

TEST(ImpressionRecordTest, ValidationNamesTheField) {
  Impression imp = Sample();
  imp.items[1].item = "i9";
  EXPECT_EQ(ValidateImpression(imp).field(), "items[1]");
  imp = Sample();
  imp.items[2].position = 1;
  EXPECT_EQ(ValidateImpression(imp).field(), "items[2].position");
  imp = Sample();
  imp.items[0].propensity = 0;
  EXPECT_EQ(ValidateImpression(imp).field(), "items[0].propensity");
  imp = Sample();
  imp.items.clear();
  EXPECT_EQ(ValidateImpression(imp).field(), "items");
  imp = Sample();
  imp.user.clear();
  EXPECT_EQ(ValidateImpression(imp).field(), "user");
}

TEST(ImpressionRecordTest, DamagedRecordsAreCorruption) {
  Event record = ImpressionRecord(Sample());
  Event truncated = record;
  truncated.context[3].second.pop_back();
  EXPECT_EQ(DecodeImpression(truncated).status().code(), StatusCode::kCorruption);
  Event trailing = record;
  trailing.context[3].second += "x";
  EXPECT_EQ(DecodeImpression(trailing).status().code(), StatusCode::kCorruption);
  Event reordered = record;
  std::swap(reordered.context[0], reordered.context[1]);
  EXPECT_EQ(DecodeImpression(reordered).status().code(), StatusCode::kCorruption);
  Event bad_version = record;
  bad_version.context[2].second = "x";
  EXPECT_EQ(DecodeImpression(bad_version).status().code(), StatusCode::kCorruption);
  Event wrong_type = record;
  wrong_type.type = "$item.put";
  EXPECT_EQ(DecodeImpression(wrong_type).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace flywheel::engine
