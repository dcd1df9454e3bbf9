#include "engine/loop/ope_replay.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flywheel/engine.h"
#include "flywheel/ope.h"

#include "engine/loop/impression_record.h"
#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/log_writer.h"

namespace flywheel::engine {
namespace {

using ::testing::HasSubstr;

constexpr TimestampMs kT0 = 1'700'000'000'000;
constexpr TimestampMs kShown = kT0 + 100'000;

Event MakeEvent(const std::string& user, const std::string& item, const std::string& type,
                TimestampMs ts) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = type;
  e.ts_ms = ts;
  return e;
}

// Every file of `dir` with its bytes: the replay must leave them all as they were.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out[entry.path().string()] = testing::ReadFileBytes(entry.path().string());
    }
  }
  return out;
}

// A data directory (model pop) with events, then two greedy impressions of the lists the engine
// served, a click on one shown item and a late event that closes both windows.
class OpeReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.data_dir = dir_.path() + "/d";
    o.models = {{"pop", {}}};
    o.snapshot_on_close = false;
    o.pipeline.exploration = 0;  // no deterministic new-item slots: every slot is the policy's
    {
      auto engine = Engine::Open(o);
      ASSERT_OK(engine);
      std::vector<Event> events;
      const std::vector<std::string> items = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
      for (size_t i = 0; i < items.size(); ++i) {
        for (size_t n = 0; n < items.size() - i; ++n) {
          events.push_back(MakeEvent("x" + std::to_string(n), items[i], "view",
                                     kT0 + static_cast<TimestampMs>(i * 10 + n)));
        }
      }
      events.push_back(MakeEvent("u1", "f", "view", kT0 + 500));
      ASSERT_OK((*engine)->Ingest(events));
      last_seq_ = events.size();
      ASSERT_OK((*engine)->Close());
    }
    o.read_only = true;
    auto engine = Engine::Open(o);
    ASSERT_OK(engine);
    for (const std::string user : {"u1", "u2"}) {
      RecommendQuery q;
      q.user = user;
      q.k = 3;
      q.now_ms = kShown;
      auto r = (*engine)->Recommend(q);
      ASSERT_OK(r);
      ASSERT_EQ(r->items.size(), 3u);
      Impression imp;
      imp.user = user;
      imp.recommendation_id = std::string("rec-") + user;
      imp.ts_ms = kShown;
      imp.policy = "greedy";
      imp.model = "pop";
      imp.model_version = last_seq_;
      for (uint32_t p = 0; p < 3; ++p) {
        imp.items.push_back({r->items[p].item, p, 1.0, 1.0});
      }
      shown_[user] = imp;
    }
    ASSERT_OK((*engine)->Close());
    auto writer = wal::LogWriter::Open(io::Env::Default(), o.data_dir + "/wal", {}, last_seq_ + 1);
    ASSERT_OK(writer);
    std::vector<Event> records = {ImpressionRecord(shown_["u1"]), ImpressionRecord(shown_["u2"]),
                                  MakeEvent("u1", shown_["u1"].items[1].item, "click", kShown + 5),
                                  MakeEvent("x0", "a", "view", kShown + 3'600'000)};
    ASSERT_OK((*writer)->AppendBatch(last_seq_ + 1, records));
    ASSERT_OK((*writer)->Close());
    data_dir_ = o.data_dir;
  }

  testing::TempDir dir_;
  std::string data_dir_;
  uint64_t last_seq_ = 0;
  std::map<std::string, Impression> shown_;
};

TEST_F(OpeReplayTest, GreedyTargetOfGreedyLogsHasWeightOneAndTheRewards) {
  const auto before = Files(data_dir_);
  OpeReplayOptions options;
  options.engine.data_dir = data_dir_;
  options.engine.pipeline.exploration = 0;  // as the logging engine ran
  options.policies = {"greedy", "epsilon:0.5", "pop:greedy"};
  Result<OpeData> data = ReplayImpressions(options);
  ASSERT_OK(data);
  EXPECT_EQ(Files(data_dir_), before);  // read only
  EXPECT_EQ(data->impressions, 2u);
  EXPECT_EQ(data->unclosed, 0u);
  EXPECT_EQ(data->records, last_seq_ + 4);
  ASSERT_EQ(data->lists.size(), 2u);
  const OpeList& u1 = data->lists[0];
  EXPECT_EQ(u1.user, "u1");
  EXPECT_EQ(u1.recommendation_id, "rec-u1");
  ASSERT_EQ(u1.slots.size(), 3u);
  EXPECT_EQ(u1.slots[1].item, shown_["u1"].items[1].item);
  EXPECT_DOUBLE_EQ(u1.slots[1].reward, 1.0);  // click weight
  EXPECT_TRUE(u1.slots[1].clicked);
  EXPECT_DOUBLE_EQ(u1.slots[0].reward, 0.0);
  EXPECT_FALSE(data->lists[1].slots[0].clicked);
  for (const OpeList& list : data->lists) {
    ASSERT_EQ(list.targets.size(), 3u);
    for (size_t s = 0; s < 3; ++s) {
      EXPECT_DOUBLE_EQ(list.targets[0].marginal[s], 1.0) << list.user << " slot " << s;
      EXPECT_DOUBLE_EQ(list.targets[0].step[s], 1.0);
      EXPECT_DOUBLE_EQ(list.targets[1].marginal[s], 0.5);  // the greedy item: 1 - E
      EXPECT_DOUBLE_EQ(list.targets[2].marginal[s], 1.0);
      EXPECT_EQ(list.targets[0].list[s], list.slots[s].item);
    }
  }
  // The list-level importance weight of the greedy target is 1 for every list: its estimates
  // are the logged mean (0.5 reward per list).
  double weighted = 0;
  for (const OpeList& list : data->lists) {
    double w = 1;
    double reward = 0;
    for (size_t s = 0; s < list.slots.size(); ++s) {
      w *= list.targets[0].step[s] / list.slots[s].step;
      reward += list.slots[s].reward;
    }
    EXPECT_DOUBLE_EQ(w, 1.0);
    weighted += w * reward;
  }
  EXPECT_DOUBLE_EQ(weighted / 2, 0.5);
}

TEST_F(OpeReplayTest, OtherTargetModelsReplayFromAnEmptyState) {
  OpeReplayOptions options;
  options.engine.data_dir = data_dir_;
  options.engine.models = {{"recentpop", {}}};
  options.policies = {"recentpop:greedy"};
  Result<OpeData> data = ReplayImpressions(options);
  ASSERT_OK(data);
  ASSERT_EQ(data->lists.size(), 2u);
  for (const OpeList& list : data->lists) {
    for (const double m : list.targets[0].marginal)
      EXPECT_TRUE(m == 0.0 || m == 1.0);
    EXPECT_EQ(list.targets[0].list.size(), 3u);
  }
}

TEST_F(OpeReplayTest, BadTargetsAndDirectoriesAreRefused) {
  OpeReplayOptions options;
  options.engine.data_dir = data_dir_;
  options.policies = {"sideways"};
  EXPECT_THAT(ReplayImpressions(options).status(),
              testing::StatusIs(StatusCode::kInvalidArgument, HasSubstr("sideways")));
  options.policies = {"bpr:greedy"};  // not a model of the replay
  EXPECT_THAT(ReplayImpressions(options).status(),
              testing::StatusIs(StatusCode::kInvalidArgument, HasSubstr("bpr")));
  options.policies = {"epsilon:7"};
  EXPECT_EQ(ReplayImpressions(options).status().code(), StatusCode::kInvalidArgument);
  options.policies = {"greedy"};
  options.engine.data_dir = dir_.path() + "/nothing";
  EXPECT_EQ(ReplayImpressions(options).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/nothing"));
}

}  // namespace
}  // namespace flywheel::engine
