// ModelDeltas: delta replication at the engine level (doc/stream.md, "Delta mode"): exports
// what the models learned (trainer) and applies a trainer's export to the models (replica),
// under the state's lock, and marks the items whose vectors moved for the ANN indexer.
//
// Threads: any (the stream's publisher and applier threads). An export takes the state's writer
// lock (it clears the models' change marks, so it must not interleave with a learning step)
// while the changed rows are copied (bench/results/scale.md gives the delta sizes). An apply
// checks and parses the bytes under the shared lock (requests keep running), then takes the
// writer lock for the copies only.
#pragma once

#include <vector>

#include "flywheel/engine.h"

#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/serve/vector_indexer.h"

namespace flywheel::engine {

class ModelDeltas {
 public:
  ModelDeltas(LearnedState* state, const Learner* learner, VectorIndexer* indexer)
      : state_(state), learner_(learner), indexer_(indexer) {}

  // Engine::ExportModelDeltas / ApplyModelDelta.
  Result<std::vector<ModelDelta>> Export(bool dense, bool full);
  Status Apply(const ModelDelta& delta);

 private:
  LearnedState* const state_;
  const Learner* const learner_;
  VectorIndexer* const indexer_;
};

}  // namespace flywheel::engine
