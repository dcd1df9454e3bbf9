#include "eval/targets.h"

#include <string>

#include <gtest/gtest.h>

#include "data/dataset.h"
#include "eval/harness.h"
#include "testing/status_matchers.h"

namespace flywheel::eval {
namespace {

constexpr const char* kStream = "synthetic:users=30,items=40,events=800,seed=5";

data::Dataset Load() {
  auto ds = data::LoadDataset(kStream, EventTypeTable::Default(), data::SkipPolicy{});
  EXPECT_TRUE(ds.ok()) << ds.status().message();
  return std::move(ds).value();
}

TEST(EngineTargetTest, PrequentialThroughTheEngineScoresTheSameEvents) {
  const data::Dataset ds = Load();
  auto entries = MakeModelEntries({ModelSpec{"itemknn", {}}});
  ASSERT_OK(entries);
  EvalOptions options;
  options.target = EvalTarget::kRawModel;
  auto raw = RunEvaluation(ds, *entries, options);
  ASSERT_OK(raw);
  options.target = EvalTarget::kEngine;
  auto engine = RunEvaluation(ds, *entries, options);
  ASSERT_OK(engine);
  auto again = RunEvaluation(ds, *entries, options);
  ASSERT_OK(again);
  EXPECT_EQ((*raw)["results"][0]["target"], "model");
  EXPECT_EQ((*engine)["results"][0]["target"], "engine");
  // The same rules decide the test points.
  EXPECT_EQ((*engine)["events_scored"], (*raw)["events_scored"]);
  EXPECT_GT((*engine)["events_scored"].get<int64_t>(), 50);
  const double hr = (*engine)["results"][0]["metrics"]["hr"].get<double>();
  EXPECT_GT(hr, 0.0);
  EXPECT_LE(hr, 1.0);
  // Deterministic: the learner applies every event before the next test.
  EXPECT_EQ((*again)["results"][0]["metrics"].dump(), (*engine)["results"][0]["metrics"].dump());
}

TEST(EngineTargetTest, WarmupPretrainsAndFrozenNeedsTheRawModel) {
  const data::Dataset ds = Load();
  auto entries = MakeModelEntries({ModelSpec{"itemknn", {}}});
  ASSERT_OK(entries);
  EvalOptions options;
  options.target = EvalTarget::kEngine;
  options.warmup = 0.5;
  auto doc = RunEvaluation(ds, *entries, options);
  ASSERT_OK(doc);
  const auto& result = (*doc)["results"][0];
  ASSERT_TRUE(result.contains("pretrain")) << result.dump();
  EXPECT_GT(result["pretrain"]["events"].get<int64_t>(), 0);
  options.updates = {*UpdateMode::Parse("frozen")};
  auto frozen = RunEvaluation(ds, *entries, options);
  EXPECT_EQ(frozen.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(frozen.status().message().find("--raw-model"), std::string::npos);
  // A factory that is not a registry model cannot configure an engine.
  std::vector<ModelEntry> custom = {ModelEntry{"custom", (*entries)[0].factory}};
  options.updates.clear();
  EXPECT_EQ(RunEvaluation(ds, custom, options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel::eval
