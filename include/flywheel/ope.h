// Off-policy evaluation data: the lists a data directory logged (`$impression` records with the
// rewards the attribution gave them) joined with what each target policy would have done with
// the learned state of that moment (doc/loop.md, section 7; the estimators: src/eval/ope.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/impression.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

namespace flywheel {

// One shown slot of a logged list with what it earned.
struct OpeSlot {
  std::string item;                        // external id
  uint32_t position = 0;                   // 0-based slot as served
  double propensity = kUnknownPropensity;  // logging policy's marginal P(item at position)
  double step = kUnknownPropensity;        // logging policy's P(item at slot | items above)
  double reward = 0.0;                     // attributed reward (or the default reward)
  bool clicked = false;                    // an attributed event with a positive weight
};

// One target policy's view of one logged list, computed with the state the logging policy saw.
struct OpeTargetView {
  // Per logged slot (same order as OpeList::slots): the target's P(item at position) and its
  // P(item at slot | the logged items above). NaN: unknown (the estimators that need it skip
  // the list and count it).
  std::vector<double> marginal;
  std::vector<double> step;
  // The target's own list for the request (one draw of the target policy, positions 0..n-1):
  // the direct method's expected value is the reward model summed over it.
  std::vector<std::string> list;
};

struct OpeList {
  std::string user;
  std::string recommendation_id;
  TimestampMs ts_ms = 0;
  std::string policy;  // the logging policy's spec ("" unknown)
  uint64_t seq = 0;    // the `$impression` record's sequence number
  std::vector<OpeSlot> slots;
  std::vector<OpeTargetView> targets;  // one per OpeData::targets, same order
};

struct OpeData {
  std::vector<std::string> targets;  // the target policy specs ("greedy", "bpr:boltzmann:0.5")
  std::vector<OpeList> lists;        // closed impressions in log order
  uint64_t records = 0;              // log records replayed
  uint64_t impressions = 0;          // `$impression` records seen
  uint64_t unclosed = 0;             // impressions still open at the end of the log (not listed)
  uint64_t first_seq = 0;            // first sequence number replayed (after the snapshot)
  uint64_t last_seq = 0;
};

struct OpeReplayOptions {
  // The scratch engine: data_dir (read only: nothing is written, no lock is taken), models (the
  // target models; empty: the directory's configuration), and the options the logging server
  // ran with that shape the replay (pipeline, loop: attribution window and reward weights,
  // user_history, rating_threshold, event_types).
  EngineOptions engine;
  std::vector<std::string> policies;  // target specs: "<policy>" or "<model>:<policy>"
  size_t k = 0;                       // target list length; 0: each logged list's length
  uint64_t seed = 1;                  // the target policies' sampling (with the recommendation id)
};

// Replays the data directory's snapshot and log through fresh target models and collects the
// closed impressions with each target's probabilities (src/engine/loop/ope_replay.cc).
Result<OpeData> ReplayImpressions(const OpeReplayOptions& options);

}  // namespace flywheel
