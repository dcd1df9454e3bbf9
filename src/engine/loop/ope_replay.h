// The replay behind `flywheel ope` (doc/loop.md, section 7; flywheel::ReplayImpressions in
// include/flywheel/ope.h): a data directory's snapshot and log are read (never written) and
// applied in log order to a scratch LearnedState with the target models; each logged
// impression is shown to every target policy with the state the logging policy ranked it with
// (the impression's model_version, else the state just before its record), and the targets'
// probabilities of the logged items at their positions are joined with the rewards the
// attribution gives the impression when it closes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flywheel/impression.h"
#include "flywheel/ope.h"
#include "flywheel/pipeline_options.h"

#include "engine/learn/learned_state.h"
#include "engine/loop/closed_impression.h"
#include "engine/serve/policy.h"

namespace flywheel::engine {

// A target of `flywheel ope --policy`: "<policy>" or "<model>:<policy>" ("greedy",
// "epsilon:0.1", "bpr:boltzmann:0.5"); the model defaults to the state's first.
struct OpeTarget {
  std::string spec;
  std::string model;  // empty: the first model
  size_t model_index = 0;
  ListPolicySpec policy;
};
// kInvalidArgument naming the spec (unknown policy, or a model the state does not have).
Result<OpeTarget> ParseOpeTarget(std::string_view spec, const LearnedState& state);

// The target's view of `impression` with the state as it is now (the caller holds state.mu at
// least shared): P(each logged item at its position), P(it there | the logged items above), and
// one draw of the target's own list of `k` items (0: the logged list's length). A probability
// the policy cannot give (an unknown position, an error) is NaN.
OpeTargetView TargetView(const LearnedState& state, const PipelineOptions& pipeline,
                         const OpeTarget& target, const Impression& impression, size_t k,
                         uint64_t seed) REQUIRES_SHARED(state.mu);

// Joins closed impressions (ImpressionListener) with the target views computed for them.
class OpeCollector : public ImpressionListener {
 public:
  // The impression logged at `seq`, its slots (rewards still 0) and its target views.
  void Expect(uint64_t seq, OpeList list);
  void OnClosed(const ClosedImpression& closed) override;

  size_t open() const { return pending_.size(); }
  // Impressions that closed without an Expect (opened before the replay's first record).
  uint64_t unknown() const { return unknown_; }
  // The closed lists in log order (by sequence number).
  std::vector<OpeList> Take();

 private:
  std::unordered_map<uint64_t, OpeList> pending_;
  std::vector<OpeList> closed_;
  uint64_t unknown_ = 0;
};

}  // namespace flywheel::engine
