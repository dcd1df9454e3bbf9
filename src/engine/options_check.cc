#include "engine/options_check.h"

#include <cmath>

#include "engine/config.h"
#include "engine/serve/pipeline.h"
#include "engine/serve/policy.h"
#include "io/env.h"
#include "wal/log_writer.h"

namespace flywheel::engine {

Status ValidateEngineOptions(const EngineOptions& options, io::Env* env) {
  if (options.data_dir.empty()) {
    return Status::InvalidArgument("engine: data_dir is empty");
  }
  if (options.keep_snapshots < 2) {  // one bad snapshot must fall back to the previous one
    return Status::InvalidArgument("engine: keep_snapshots must be >= 2");
  }
  if (!std::isfinite(options.rating_threshold)) {
    return Status::InvalidArgument("engine: rating_threshold must be a finite number");
  }
  FLYWHEEL_RETURN_IF_ERROR(wal::Durability::Parse(options.durability).status());
  FLYWHEEL_RETURN_IF_ERROR(ValidatePipelineOptions(options.pipeline));
  FLYWHEEL_RETURN_IF_ERROR(ValidateLoopPolicy(options.loop));
  FLYWHEEL_RETURN_IF_ERROR(EventTypeTable::Parse(options.event_types).status());
  if (options.read_only && !env->FileExists(io::JoinPath(options.data_dir, kConfigFileName))) {
    return Status::NotFound("engine: " + options.data_dir + " is not a Flywheel data directory");
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
