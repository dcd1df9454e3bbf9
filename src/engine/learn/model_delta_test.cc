// ModelDeltas through the Engine API: a delta replica (model_learning off) fed the trainer's
// events and deltas serves exactly what the trainer serves; models without deltas (pop) are
// replayed; a replica refuses Pretrain, a trainer refuses deltas, a delta for a model the
// engine does not configure at that position is refused.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flywheel/engine.h"

#include "base/random.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::flywheel::testing::TempDir;

std::vector<Event> Events(size_t n, uint64_t seed, size_t first) {
  base::Rng rng(seed);
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t user = rng.Uniform(40);
    Event e;
    e.user = "u" + std::to_string(user);
    e.item = "i" + std::to_string((user % 4) * 15 + rng.Uniform(15));
    e.type = "view";
    e.ts_ms = 1'700'000'000'000 + static_cast<TimestampMs>((first + i) * 1000);
    e.id = "e" + std::to_string(first + i);
    events.push_back(e);
  }
  return events;
}

EngineOptions Options(const std::string& dir, bool learning) {
  EngineOptions o;
  o.data_dir = dir;
  o.models = {ModelSpec{"sasrec", {{"dim", "16"}, {"blocks", "1"}, {"max_len", "8"}}},
              ModelSpec{"pop", {}}};
  o.snapshot_on_close = false;
  o.model_learning = learning;
  return o;
}

std::vector<Recommendation> Top(Engine& engine, const std::string& user, const std::string& model) {
  RecommendQuery q;
  q.user = user;
  q.model = model;
  auto r = engine.Recommend(q);
  EXPECT_OK(r.status());
  return r.ok() ? r->items : std::vector<Recommendation>{};
}

bool Same(const std::vector<Recommendation>& a, const std::vector<Recommendation>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].item != b[i].item || a[i].score != b[i].score) {
      return false;
    }
  }
  return true;
}

int Differing(Engine& trainer, Engine& replica, const std::string& model) {
  int differing = 0;
  for (int u = 0; u < 40; ++u) {
    const std::string user = "u" + std::to_string(u);
    differing += Same(Top(trainer, user, model), Top(replica, user, model)) ? 0 : 1;
  }
  return differing;
}

TEST(ModelDeltaTest, ADeltaReplicaServesWhatItsTrainerServes) {
  TempDir trainer_dir, replica_dir;
  auto trainer = std::move(Engine::Open(Options(trainer_dir.path(), true))).value();
  auto replica = std::move(Engine::Open(Options(replica_dir.path(), false))).value();
  size_t first = 0;
  for (int round = 0; round < 3; ++round) {
    const auto events = Events(200, 7 + static_cast<uint64_t>(round), first);
    first += events.size();
    for (Engine* e : {trainer.get(), replica.get()}) {
      auto r = e->Ingest(events);
      ASSERT_OK(r.status());
      ASSERT_OK(e->WaitForApplied(r->last_seq, 30'000));
    }
    EXPECT_GT(Differing(*trainer, *replica, "sasrec"), 0) << "only the trainer learns";
    EXPECT_EQ(Differing(*trainer, *replica, "pop"), 0) << "pop has no deltas: replayed";
    auto deltas = trainer->ExportModelDeltas(true);
    ASSERT_OK(deltas.status());
    ASSERT_EQ(deltas->size(), 1u);  // sasrec only
    EXPECT_EQ((*deltas)[0].model, "sasrec");
    EXPECT_EQ((*deltas)[0].index, 0u);
    EXPECT_EQ((*deltas)[0].full, round == 0);
    EXPECT_EQ((*deltas)[0].seq, first);
    ASSERT_OK(replica->ApplyModelDelta((*deltas)[0]));
    EXPECT_EQ(Differing(*trainer, *replica, "sasrec"), 0) << "round " << round;
  }
}

TEST(ModelDeltaTest, RolesAreChecked) {
  TempDir trainer_dir, replica_dir;
  auto trainer = std::move(Engine::Open(Options(trainer_dir.path(), true))).value();
  auto replica = std::move(Engine::Open(Options(replica_dir.path(), false))).value();
  auto deltas = trainer->ExportModelDeltas(false);
  ASSERT_OK(deltas.status());
  ASSERT_EQ(deltas->size(), 1u);
  EXPECT_EQ(trainer->ApplyModelDelta((*deltas)[0]).code(), StatusCode::kFailedPrecondition);
  ModelDelta wrong = (*deltas)[0];
  wrong.index = 1;  // pop is there
  EXPECT_EQ(replica->ApplyModelDelta(wrong).code(), StatusCode::kFailedPrecondition);
  wrong.index = 7;
  EXPECT_EQ(replica->ApplyModelDelta(wrong).code(), StatusCode::kFailedPrecondition);
  ModelDelta corrupt = (*deltas)[0];
  corrupt.bytes[corrupt.bytes.size() / 2] ^= 0x10;
  EXPECT_EQ(replica->ApplyModelDelta(corrupt).code(), StatusCode::kCorruption);
  EXPECT_EQ(replica->Pretrain("sasrec").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(replica->ApplyModelDelta((*deltas)[0]));
}

}  // namespace
}  // namespace flywheel
