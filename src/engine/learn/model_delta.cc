#include "engine/learn/model_delta.h"

#include <memory>
#include <string>
#include <utility>

#include "base/serial.h"

namespace flywheel::engine {

Result<std::vector<ModelDelta>> ModelDeltas::Export(bool dense, bool full) {
  LearnedState* const state = state_;
  std::vector<ModelDelta> out;
  base::WriterLock lock(&state->mu);
  const uint64_t seq = learner_->applied_seq();  // set under this lock: it matches the state
  for (size_t i = 0; i < state->models.size(); ++i) {
    model::Recommender& m = *state->models[i];
    if (!m.SupportsDeltas()) {
      continue;
    }
    ModelDelta d;
    d.index = i;
    d.model = state->specs()[i].name;
    d.seq = seq;
    base::ByteWriter w(&d.bytes);
    const model::DeltaScope scope = full    ? model::DeltaScope::kFull
                                    : dense ? model::DeltaScope::kDense
                                            : model::DeltaScope::kRows;
    model::DeltaInfo info;
    FLYWHEEL_RETURN_IF_ERROR(m.ExportDelta(scope, &w, &info));
    d.full = info.full;
    d.dense = info.dense;
    d.rows = info.rows;
    out.push_back(std::move(d));
  }
  return out;
}

Status ModelDeltas::Apply(const ModelDelta& delta) {
  LearnedState* const state = state_;
  std::unique_ptr<model::DecodedDelta> decoded;
  const model::Recommender* decoded_by = nullptr;
  {
    // Checksum and parsing under the shared lock: requests keep running (only the learner,
    // which has little to do on a delta replica, waits).
    base::ReaderLock lock(&state->mu);
    if (state->model_learning()) {
      return Status::FailedPrecondition(
          "engine: deltas apply only with model learning off (a delta replica)");
    }
    if (delta.index >= state->models.size() || state->specs()[delta.index].name != delta.model) {
      return Status::FailedPrecondition("engine: delta for model '" + delta.model + "' at " +
                                        std::to_string(delta.index) +
                                        ", which this engine does not configure there");
    }
    base::ByteReader r(delta.bytes, "delta of model " + delta.model);
    decoded_by = state->models[delta.index].get();
    FLYWHEEL_ASSIGN_OR_RETURN(decoded, decoded_by->DecodeDelta(&r));
  }
  std::vector<ItemIdx> moved;
  {
    base::WriterLock lock(&state->mu);  // the copies only
    model::Recommender* model = state->models[delta.index].get();
    if (model != decoded_by) {
      return Status::FailedPrecondition("engine: model " + delta.model + " was replaced meanwhile");
    }
    FLYWHEEL_RETURN_IF_ERROR(model->ApplyDecoded(*decoded, &moved));
  }
  for (ItemIdx item : moved) {
    indexer_->MarkDirty(item);
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
