#include "eval/fit_cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"
#include "model/registry.h"
#include "model/user_state.h"
#include "testing/status_matchers.h"

namespace flywheel::eval::internal {
namespace {

// Users walk a ring of items (next item = previous + 1 or + 2), so a sequence model learns it.
data::Dataset RingDataset() {
  data::Dataset ds;
  ds.name = "ring";
  ds.default_positive = "all";
  base::Rng rng(7);
  const EventTypeId click = *ds.types.Find("click");
  int64_t ts = 0;
  for (int u = 0; u < 40; ++u) {
    int item = static_cast<int>(rng.Uniform(30));
    for (int j = 0; j < 12; ++j) {
      data::Interaction e;
      e.user = ds.users.GetOrAdd("u" + std::to_string(u));
      e.item = ds.items.GetOrAdd("i" + std::to_string(item));
      e.ts_ms = 1000 * ++ts;
      e.type = click;
      ds.events.push_back(e);
      item = (item + 1 + static_cast<int>(rng.Uniform(2))) % 30;
    }
  }
  ds.num_items_with_events = static_cast<int64_t>(ds.items.size());
  ds.item_meta.resize(ds.items.size());
  return ds;
}

std::unique_ptr<model::Recommender> Sasrec(const model::ModelParams& extra = {}) {
  model::ModelParams params = {{"dim", "8"},         {"blocks", "1"}, {"max_len", "8"},
                               {"epochs", "2"},      {"batch", "16"}, {"threads", "1"},
                               {"valid_users", "5"}, {"dropout", "0"}};
  for (const auto& [k, v] : extra) {
    params[k] = v;
  }
  auto model = model::CreateRecommender("sasrec", params);
  EXPECT_OK(model);
  return std::move(model).value();
}

// The top 10 of every user after their whole history.
std::vector<ItemIdx> Rankings(const data::Dataset& ds, const model::Recommender& model) {
  model::UserStateStore users;
  for (const auto& e : ds.events) {
    users.Get(e.user).Add(e);
  }
  std::vector<ItemIdx> out;
  std::vector<model::ScoredItem> top;
  for (UserIdx u = 0; u < ds.users.size(); ++u) {
    model::RecommendRequest request;
    request.user = u;
    request.k = 10;
    request.user_state = &users.Get(u);
    model.Recommend(request, &top);
    for (const auto& s : top) {
      out.push_back(s.item);
    }
  }
  return out;
}

TEST(FitCacheTest, SecondFitLoadsTheSavedStateAndRanksIdentically) {
  testing::TempDir dir;
  const data::Dataset ds = RingDataset();
  auto first = Sasrec();
  nlohmann::json info;
  ASSERT_OK(FitWithCache(dir.path(), ds, ds.events, first.get(), &info));
  EXPECT_FALSE(info["hit"].get<bool>());
  ASSERT_TRUE(std::filesystem::exists(info["file"].get<std::string>()));

  // Online-only parameters may differ: still a hit, and the fitted weights are the same.
  auto second = Sasrec(
      {{"online_lr", "0.01"}, {"scratch_lr", "0"}, {"online_optimizer", "sgd"}, {"replay", "3"}});
  nlohmann::json info2;
  ASSERT_OK(FitWithCache(dir.path(), ds, ds.events, second.get(), &info2));
  EXPECT_TRUE(info2["hit"].get<bool>());
  EXPECT_EQ(info2["file"], info["file"]);
  const auto expected = Rankings(ds, *first);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Rankings(ds, *second), expected);
  const KeyValues params = second->params();  // its own online options
  EXPECT_NE(std::find(params.begin(), params.end(),
                      std::pair<std::string, std::string>("online_optimizer", "sgd")),
            params.end());

  // A pre-training parameter or other events: another key, so the model is fitted.
  auto other = Sasrec({{"epochs", "1"}});
  nlohmann::json info3;
  ASSERT_OK(FitWithCache(dir.path(), ds, ds.events, other.get(), &info3));
  EXPECT_FALSE(info3["hit"].get<bool>());
  EXPECT_NE(info3["file"], info["file"]);
  auto fewer = Sasrec();
  nlohmann::json info4;
  ASSERT_OK(FitWithCache(dir.path(), ds, std::span(ds.events).first(ds.events.size() - 1),
                         fewer.get(), &info4));
  EXPECT_FALSE(info4["hit"].get<bool>());
}

TEST(FitCacheTest, DamagedStateIsAnErrorNotAWrongModel) {
  testing::TempDir dir;
  const data::Dataset ds = RingDataset();
  auto first = Sasrec();
  nlohmann::json info;
  ASSERT_OK(FitWithCache(dir.path(), ds, ds.events, first.get(), &info));
  const std::string path = info["file"].get<std::string>();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x5a');
  }
  auto second = Sasrec();
  EXPECT_THAT(FitWithCache(dir.path(), ds, ds.events, second.get(), nullptr),
              testing::StatusIs(StatusCode::kCorruption));
}

TEST(FitCacheTest, NoDirectoryJustFits) {
  const data::Dataset ds = RingDataset();
  auto model = Sasrec();
  nlohmann::json info;
  ASSERT_OK(FitWithCache("", ds, ds.events, model.get(), &info));
  EXPECT_TRUE(info.is_null());
  EXPECT_FALSE(Rankings(ds, *model).empty());
}

}  // namespace
}  // namespace flywheel::eval::internal
