// The `flywheel serve` configuration file (server/serve_config.h): MergeJson, then Build and
// Describe on what was accepted. Never a crash, never a JSON-library exception.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "server/serve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flywheel::server::ServeConfig config;
  if (!config.MergeJson(flywheel::fuzz::AsText(data, size), "fuzz.json").ok()) {
    return 0;
  }
  (void)config.Build();
  (void)config.Describe();
  return 0;
}
