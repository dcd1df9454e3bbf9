// The `$impression` control record (doc/formats/event_log.md, "Impression records"): an
// Impression as an event record of the log, and back. Pure functions; used by the engine's
// RecordImpression (writer), the learner and recovery (readers), `flywheel ope` and the fuzzer.
#pragma once
#include <string_view>

#include "flywheel/event.h"
#include "flywheel/impression.h"
#include "flywheel/result.h"

namespace flywheel::engine {

inline constexpr std::string_view kImpressionType = "$impression";
inline constexpr size_t kMaxImpressionItems = 1000;

// Checks the shape (user non-empty, 1..1000 items, ids non-empty and distinct, positions
// strictly increasing, propensities NaN or in (0, 1]); kInvalidArgument naming the field
// ("items[3].propensity").
Status ValidateImpression(const Impression& impression);

// The record of a valid impression (ValidateImpression first).
Event ImpressionRecord(const Impression& impression);

// kCorruption when `record` is not a `$impression` record following the grammar.
Result<Impression> DecodeImpression(const Event& record);

}  // namespace flywheel::engine
