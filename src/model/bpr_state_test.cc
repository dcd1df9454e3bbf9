// Bpr snapshots: save, load into a fresh model, continue bit-identically; damaged bytes rejected.

#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/crc32c.h"
#include "base/random.h"
#include "model/bpr.h"
#include "model/model_test_util.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

using test::Ev;

using ::flywheel::testing::StatusIs;

// Users of 3 taste groups; one event in 10 a dislike; ratings 1..5.
std::vector<data::Interaction> Stream(int events, uint64_t seed) {
  base::Rng rng(seed);
  std::vector<data::Interaction> out;
  for (int n = 0; n < events; ++n) {
    const auto user = static_cast<UserIdx>(rng.Uniform(40));
    const auto item = static_cast<ItemIdx>(rng.Uniform(20) * 3 + user % 3);
    const float weight = rng.Uniform(10) == 0 ? -1.0f : 1.0f;
    const auto value = static_cast<float>(1 + rng.Uniform(5));
    out.push_back(Ev(user, item, 1000LL * n, weight, value));
  }
  return out;
}

std::unique_ptr<Bpr> Make(const BprOptions& options) {
  auto model = Bpr::Create(options);
  EXPECT_TRUE(model.ok());
  return std::move(*model);
}

void Feed(Bpr& model, UserStateStore& users, std::span<const data::Interaction> events) {
  for (const auto& e : events) {
    model.Observe(e, users.Get(e.user));
    users.Get(e.user).Add(e);
  }
}

std::string Save(const Bpr& model) {
  std::string blob;
  base::ByteWriter writer(&blob);
  EXPECT_OK(model.SaveState(&writer));
  return blob;
}

Status Load(Bpr& model, std::string_view blob) {
  base::ByteReader reader(blob, "test blob");
  FLYWHEEL_RETURN_IF_ERROR(model.LoadState(&reader));
  return reader.ExpectEnd();
}

// Every user's full ranking (scores compared bitwise), rows and step counts are equal.
void ExpectSameModel(const Bpr& a, const Bpr& b, const UserStateStore& users) {
  EXPECT_EQ(a.steps(), b.steps());
  ASSERT_EQ(a.num_items(), b.num_items());
  std::vector<ScoredItem> top_a, top_b;
  for (UserIdx user = 0; user < 45; ++user) {  // 40..44: no row, history or none
    RecommendRequest request;
    request.user = user;
    request.k = 1000;
    request.user_state = &users.Find(user);
    a.Recommend(request, &top_a);
    b.Recommend(request, &top_b);
    ASSERT_EQ(top_a.size(), top_b.size());
    for (size_t i = 0; i < top_a.size(); ++i) {
      EXPECT_EQ(top_a[i].item, top_b[i].item);
      EXPECT_EQ(std::bit_cast<uint32_t>(top_a[i].score), std::bit_cast<uint32_t>(top_b[i].score));
    }
    EXPECT_EQ(a.UserRow(user), b.UserRow(user));
  }
  for (ItemIdx item = 0; item < a.num_items(); ++item) {
    EXPECT_EQ(a.ItemRow(item), b.ItemRow(item));
    if (a.PredictRating(0, item).has_value()) {
      EXPECT_EQ(*a.PredictRating(0, item), *b.PredictRating(0, item));
    }
  }
}

struct Mode {
  BprSampling sampling;
  BprLoss loss;
  embedding::OptimizerKind optimizer;
};

class BprStateTest : public ::testing::TestWithParam<Mode> {
 protected:
  BprOptions Options() const {
    BprOptions options;
    options.dim = 6;
    options.sampling = GetParam().sampling;
    options.loss = GetParam().loss;
    options.optimizer = GetParam().optimizer;
    options.reservoir = 300;  // smaller than the stream: Algorithm R replaces entries
    options.recent_window = 50;
    options.epochs = 2;
    return options;
  }
};

TEST_P(BprStateTest, LoadedModelContinuesBitIdentically) {
  const auto stream = Stream(3000, 21);
  const std::span<const data::Interaction> all(stream);
  auto a = Make(Options());
  UserStateStore users_a;
  ASSERT_OK(a->Fit(all.subspan(0, 1000)));
  for (const auto& e : all.subspan(0, 1000)) {
    users_a.Get(e.user).Add(e);
  }
  Feed(*a, users_a, all.subspan(1000, 1000));
  const std::string blob = Save(*a);
  auto b = Make(Options());
  ASSERT_OK(Load(*b, blob));
  UserStateStore users_b = users_a;
  ExpectSameModel(*a, *b, users_a);
  Feed(*a, users_a, all.subspan(2000));
  Feed(*b, users_b, all.subspan(2000));
  ExpectSameModel(*a, *b, users_a);
  EXPECT_EQ(Save(*a), Save(*b));
}

TEST_P(BprStateTest, EveryTruncationAndEveryFlippedByteIsRejected) {
  const auto stream = Stream(600, 22);
  auto a = Make(Options());
  UserStateStore users;
  Feed(*a, users, stream);
  const std::string blob = Save(*a);
  for (size_t n = 0; n < blob.size(); ++n) {
    auto b = Make(Options());
    EXPECT_THAT(Load(*b, std::string_view(blob).substr(0, n)), StatusIs(StatusCode::kCorruption))
        << "prefix " << n << " of " << blob.size();
  }
  for (size_t n = 0; n < blob.size(); n += 7) {
    std::string bad = blob;
    bad[n] = static_cast<char>(bad[n] ^ 0x10);
    auto b = Make(Options());
    EXPECT_THAT(Load(*b, bad), StatusIs(StatusCode::kCorruption)) << "byte " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, BprStateTest,
    ::testing::Values(
        Mode{BprSampling::kUniform, BprLoss::kBpr, embedding::OptimizerKind::kAdagrad},
        Mode{BprSampling::kPopularity, BprLoss::kBpr, embedding::OptimizerKind::kAdam},
        Mode{BprSampling::kRecent, BprLoss::kBpr, embedding::OptimizerKind::kSgd},
        Mode{BprSampling::kUniform, BprLoss::kMse, embedding::OptimizerKind::kAdagrad}));

// Rewrites the body at `offset` (past the u64 length) and fixes the trailing checksum, so only
// the content check can reject it.
std::string Patched(std::string blob, size_t offset, uint32_t value) {
  std::memcpy(blob.data() + 8 + offset, &value, sizeof(value));
  const std::string_view body(blob.data() + 8, blob.size() - 12);
  const uint32_t crc = base::crc32c::Mask(base::crc32c::Value(body));
  std::memcpy(blob.data() + blob.size() - 4, &crc, sizeof(crc));
  return blob;
}

TEST(BprStateMismatchTest, RejectsOtherVersionOtherParamsAndInconsistentContent) {
  BprOptions options;
  options.dim = 4;
  auto a = Make(options);
  UserStateStore users;
  Feed(*a, users, Stream(200, 23));
  const std::string blob = Save(*a);
  auto fresh = [&] { return Make(options); };
  EXPECT_OK(Load(*fresh(), blob));
  EXPECT_THAT(Load(*fresh(), Patched(blob, 4, 2)), StatusIs(StatusCode::kCorruption));
  EXPECT_THAT(Load(*fresh(), Patched(blob, 0, 0x12345678)), StatusIs(StatusCode::kCorruption));
  BprOptions other = options;
  other.dim = 5;
  EXPECT_THAT(Load(*Make(other), blob), StatusIs(StatusCode::kCorruption));
  other = options;
  other.seed = 9;
  EXPECT_THAT(Load(*Make(other), blob), StatusIs(StatusCode::kCorruption));
  // Trailing bytes after the model's state are the caller's (ExpectEnd here rejects them).
  EXPECT_THAT(Load(*fresh(), blob + "x"), StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace flywheel::model
