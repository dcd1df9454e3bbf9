// Pretrain: the batch warm start inside the product (doc/engine.md, "Pre-training"). Fits a
// fresh instance of a configured model on every event still in the log (in time order, with the
// catalogue's item content) and puts it in place of the live one, which then keeps learning
// online. The caller writes a snapshot afterwards.
//
// Holds the learned state's lock exclusively for the whole Fit: the learner and readers wait
// (events are still acknowledged and logged).
#pragma once

#include <string>

#include "flywheel/engine.h"

#include "engine/learn/learned_state.h"
#include "engine/learn/learner.h"
#include "engine/serve/vector_indexer.h"

namespace flywheel::io {
class Env;
}  // namespace flywheel::io

namespace flywheel::engine {

struct PretrainInputs {
  io::Env* env = nullptr;
  std::string wal_dir;
  bool skip_corruption = false;
};

// Fits model `which` afresh on the log through the learner's applied sequence number (read under
// the state lock) and swaps it in; fills everything of `result` but snapshot_seq.
Status PretrainModel(const PretrainInputs& in, size_t which, const Learner& learner,
                     LearnedState* state, VectorIndexer* indexer, PretrainResult* result);

}  // namespace flywheel::engine
