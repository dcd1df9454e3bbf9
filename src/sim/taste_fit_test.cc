#include "sim/taste_fit.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace flywheel::sim {
namespace {

// Two taste groups: users a* click items x0..x9, users b* click items y0..y9.
std::string WriteTwoGroups() {
  const std::string path = ::testing::TempDir() + "/taste_fit_two_groups.jsonl";
  std::ofstream out(path);
  int64_t ts = 1'700'000'000'000;
  for (int u = 0; u < 20; ++u) {
    const char group = u < 10 ? 'a' : 'b';
    const char prefix = u < 10 ? 'x' : 'y';
    for (int i = 0; i < 10; ++i) {
      if ((u + i) % 3 == 0) {
        continue;  // leave some out: the fit must generalise within the group
      }
      out << R"({"user": ")" << group << u << R"(", "item": ")" << prefix << i
          << R"(", "type": "click", "ts": )" << ts++ << "}\n";
    }
  }
  return path;
}

TEST(TasteFitTest, FittedTastesPreferTheUsersOwnGroup) {
  TasteFitOptions options;
  options.dataset = "events:" + WriteTwoGroups();
  options.epochs = 60;
  WorldOptions base;
  base.dim = 8;
  auto world = FitWorld(options, base);
  ASSERT_TRUE(world.ok()) << world.status().message();
  EXPECT_EQ(world->num_users(), 20);
  EXPECT_EQ(world->num_items(), 20);
  EXPECT_GT(world->options().affinity_scale, 0);
  int wins = 0;
  int total = 0;
  for (int u = 0; u < world->num_users(); ++u) {
    const bool a = world->user(u).id[1] == 'a';
    for (int i = 0; i < world->num_items(); ++i) {
      for (int j = 0; j < world->num_items(); ++j) {
        const bool own_i = (world->item(i).id[1] == 'x') == a;
        const bool own_j = (world->item(j).id[1] == 'x') == a;
        if (own_i && !own_j) {
          ++total;
          wins += world->Attraction(u, i) > world->Attraction(u, j) ? 1 : 0;
        }
      }
    }
  }
  EXPECT_GT(static_cast<double>(wins) / total, 0.9) << wins << " of " << total;
  // New items copy a dataset item's category and get fresh ids.
  base::Rng rng(1);
  const int first = world->AddItems(3, 1, 5, rng);
  EXPECT_EQ(world->item(first).id, "new20");
}

TEST(TasteFitTest, LimitsKeepTheMostActiveUsersAndPopularItems) {
  TasteFitOptions options;
  options.dataset = "events:" + WriteTwoGroups();
  options.max_users = 5;
  options.max_items = 4;
  auto world = FitWorld(options, WorldOptions());
  ASSERT_TRUE(world.ok()) << world.status().message();
  EXPECT_EQ(world->num_users(), 5);
  EXPECT_EQ(world->num_items(), 4);
}

TEST(TasteFitTest, AMissingDatasetIsAnError) {
  TasteFitOptions options;
  options.dataset = "events:/nonexistent/file.jsonl";
  EXPECT_FALSE(FitWorld(options, WorldOptions()).ok());
}

}  // namespace
}  // namespace flywheel::sim
