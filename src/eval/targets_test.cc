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
  // Both targets report the @20 variants beside the metrics at K, overall and per split.
  for (const nlohmann::json* doc : {&*raw, &*engine}) {
    const nlohmann::json& result = (*doc)["results"][0];
    for (const char* metric : {"hr@20", "ndcg@20", "mrr@20"}) {
      ASSERT_TRUE(result["metrics"].contains(metric)) << result["target"] << " " << metric;
      EXPECT_GE(result["metrics"][metric].get<double>(), 0.0);
      EXPECT_LE(result["metrics"][metric].get<double>(), 1.0);
      for (const auto& [name, split] : result["splits"].items()) {
        EXPECT_TRUE(split.contains(metric)) << name << " " << metric;
      }
    }
  }
  // The raw model's top 20 extends its top 10 (no exploration): HR@20 >= HR@10.
  EXPECT_GE((*raw)["results"][0]["metrics"]["hr@20"].get<double>(),
            (*raw)["results"][0]["metrics"]["hr"].get<double>());
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
