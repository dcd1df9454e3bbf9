// Target: what a prequential replay drives (doc/evaluation.md, "Evaluation targets").
//
// The replay protocol (eval/replay.h) decides which events are test points and when events are
// learned from; a Target answers the recommendation requests and learns. Implementations:
//   RawModelTarget  the model alone (model::Recommender), the harness keeping the user states:
//                   `flywheel eval --raw-model` (eval/targets.h)
//   EngineTarget    a real flywheel::Engine in a temporary data directory, through its public
//                   API (Ingest, WaitForApplied, Recommend: the serving pipeline): the default
//                   of `flywheel eval` (eval/targets.h)
//   HttpTarget      a running `flywheel serve` over HTTP: `flywheel replay`
//                   (apps/flywheel/replay_command.cc)
// Events and items are named by their index in the dataset the target was made for.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "flywheel/result.h"
#include "flywheel/status.h"

#include "model/recommender.h"

namespace flywheel::eval {

class Target {
 public:
  virtual ~Target() = default;

  // Items [from, to) enter the catalogue (their content, when the dataset has some). Called
  // before the first event of each item and, for the warm-up, before WarmUp.
  virtual Status AddItems(size_t from, size_t to) = 0;
  // Batch pre-training on events [0, end) before the replay (protocol P's warm-up; end may
  // be 0). Called once, first.
  virtual Status WarmUp(size_t end) = 0;
  // Called for each replayed event before its test (retrain points of a periodically
  // retrained model).
  virtual Status Begin(size_t /*event*/) { return Status::Ok(); }
  // The top `k` for the user of `event`, asked before the target learns from that event, in
  // rank order. False when the target could not answer (an HTTP error, counted by the target):
  // the event is then not scored.
  virtual Result<bool> Recommend(size_t event, int k, bool exclude_seen,
                                 std::vector<model::ScoredItem>* top) = 0;
  // Learns from events [from, to), in order; returns once they are applied.
  virtual Status Observe(size_t from, size_t to) = 0;

  // What this target is in the JSON document ("engine", "model", "http").
  virtual const char* kind() const = 0;
  // Target-specific fields of a result ("retrains", "rmse"...); nothing by default.
  virtual void AddResultFields(nlohmann::json* /*result*/) const {}
  // Seconds spent in batch Fits (warm-up, retrains).
  virtual double fit_seconds() const { return 0; }
};

}  // namespace flywheel::eval
