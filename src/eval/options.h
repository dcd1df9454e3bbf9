// Evaluation options: protocol, K, warm-up, update mode, positive-event filter.
// See ../shared/guides/evaluation.md and doc/evaluation.md.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"
#include "flywheel/model_spec.h"
#include "flywheel/result.h"

#include "data/interaction.h"
#include "model/registry.h"

namespace flywheel::eval {

enum class Protocol { kPrequential, kLeaveLastOut, kTemporal };
Result<Protocol> ParseProtocol(std::string_view text);  // prequential|loo|temporal
std::string_view ProtocolName(Protocol protocol);

// How a model is updated after warm-up: online (Observe every event), frozen (never),
// retrain:<period> (re-created and Fit on all events so far every `period` of stream time,
// frozen in between). Periods: <n>s|m|h|d or daily/hourly/weekly.
struct UpdateMode {
  enum class Kind { kOnline, kFrozen, kRetrain };
  Kind kind = Kind::kOnline;
  int64_t period_ms = 0;
  static Result<UpdateMode> Parse(std::string_view text);
  std::string ToString() const;
};

// Which events count as successes to predict: "all", "rating>=X" (events of type rating with
// value >= X, other types by their table flag), or "types:a,b,c".
class PositiveFilter {
 public:
  static Result<PositiveFilter> Parse(std::string_view text, const EventTypeTable& types);
  bool Accept(const data::Interaction& event) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kAll, kRating, kTypes };
  Kind kind_ = Kind::kAll;
  double min_rating_ = 0;
  EventTypeId rating_type_ = 0;
  std::vector<bool> type_positive_;  // by type id (kRating: non-rating types)
  std::set<EventTypeId> types_;
  std::string text_ = "all";
};

// What an evaluation drives (eval/target.h): the model alone, or a flywheel::Engine and its
// serving pipeline (Engine::Recommend), as `flywheel serve` answers users.
enum class EvalTarget { kRawModel, kEngine };

struct EvalOptions {
  Protocol protocol = Protocol::kPrequential;
  // The library default is the model alone; `flywheel eval` defaults to the engine
  // (--raw-model: the model). Protocol P only: L and T always rank with the model.
  EvalTarget target = EvalTarget::kRawModel;
  PipelineOptions pipeline;  // the engine's pipeline (kEngine)
  int k = 10;
  double warmup = 0.0;              // prequential: fraction of stream time used to Fit
  std::vector<UpdateMode> updates;  // empty: protocol default
  bool exclude_seen = true;
  std::string positive;   // empty: the dataset's default
  int windows = 100;      // per-window series points (prequential)
  double split = 0.8;     // temporal: quantile of timestamps for T
  bool progress = false;  // draw progress bars on stderr
  bool timing = true;     // false: omit wall-clock fields (golden files)
  std::string fit_cache;  // directory of saved Fit states (eval/fit_cache.h); empty: off
};

}  // namespace flywheel::eval
