// Fit cache for evaluation runs (`flywheel eval --fit-cache DIR`): the model state after a batch
// Fit is saved once and loaded by later runs that would fit the same model on the same events,
// so that online-learning settings can be compared from one pre-trained model (transfer, then
// online fine-tuning) without paying for pre-training in every run.
//
// Key: the dataset name, a CRC of the fitted events (user, item, time, value, weight, type),
// the model's name and its parameters except those the model marks online-only
// (Recommender::OnlineOnlyParam), taken before Fit. The file holds the key (checked in full on
// load, so a hash collision or an edited file is a miss, never a wrong model) followed by
// SaveState. Models without snapshot support fit every time. A cache hit gives exactly the state
// the Fit would have produced (Fit is deterministic for the same parameters and threads).
#pragma once

#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "flywheel/status.h"

#include "data/dataset.h"
#include "model/recommender.h"

namespace flywheel::eval::internal {

// Fits `model` on `events`, or loads the state a previous run saved for the same key. With an
// empty `dir` it just fits. *info (when not null) gets {"file": path, "hit": bool}.
Status FitWithCache(const std::string& dir, const data::Dataset& dataset,
                    std::span<const data::Interaction> events, model::Recommender* model,
                    nlohmann::json* info);

}  // namespace flywheel::eval::internal
