// EngineTarget: the simulator against an in-process Engine (include/flywheel/engine.h): the
// calls `flywheel serve` makes for the HTTP target's requests, without the HTTP layer, for fast
// benchmark sweeps. The engine's data directory is given (kept after the run: `flywheel ope`
// reads it) or a temporary one (removed at the end).
//
// Impressions: the simulated client shows every list it fetches, so the list is recorded in the
// same call (RecommendQuery::record_impression, what `GET ...?record_impression=true` does);
// RecordImpression() then has nothing left to do for it.
#pragma once

#include <memory>
#include <string>

#include "flywheel/engine.h"

#include "sim/target.h"

namespace flywheel::sim {

class EngineTarget : public SimTarget {
 public:
  // `options.data_dir` empty: a fresh temporary directory, removed by the destructor.
  static Result<std::unique_ptr<EngineTarget>> Open(EngineOptions options);
  ~EngineTarget() override;
  EngineTarget(const EngineTarget&) = delete;
  EngineTarget& operator=(const EngineTarget&) = delete;

  std::string Describe() const override;
  Status PutItems(std::span<const Item> items) override;
  Result<ServedList> Recommend(const RequestSpec& request) override;
  Status RecordImpression(const std::string& user, const ServedList& list,
                          TimestampMs ts_ms) override;
  Status SendEvents(std::span<const Event> events) override;
  TargetCounters counters() const override;

  Engine& engine() { return *engine_; }
  // Closes the engine (snapshot, log synced); later calls fail.
  Status Close();

 private:
  EngineTarget() = default;

  std::unique_ptr<Engine> engine_;
  std::string dir_;
  bool temporary_ = false;
  std::string models_;
  TargetCounters counters_;
};

}  // namespace flywheel::sim
