// The engine's snapshot sections (engine/learn/learned_state.h, doc/formats/snapshot.md)
// behind their CRCs: the input is split at kPartSeparator into the payloads of meta, user_ids,
// item_ids, user_states, catalog, user_values, catalog_extra, loop (the attributor's open
// impressions and counters), model/pop and model/itemknn; the
// harness wraps them in a valid snapshot (EncodeSnapshot), so that every decoder behind the
// checksums is reached, and loads it (LearnedState::Load, models pop and itemknn). Never a
// crash; a state that loads saves, and its snapshot loads again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/rw_lock.h"
#include "engine/learn/learned_state.h"
#include "engine/store/snapshot_file.h"
#include "fuzz_util.h"

namespace {

using flywheel::engine::LearnedState;
using flywheel::engine::SnapshotSection;

constexpr const char* kSections[] = {"meta",      "user_ids",     "item_ids",      "user_states",
                                     "catalog",   "user_values",  "catalog_extra", "loop",
                                     "model/pop", "model/itemknn"};

std::vector<flywheel::ModelSpec> Specs() {
  return {flywheel::ModelSpec{"pop", {}}, flywheel::ModelSpec{"itemknn", {}}};
}

// Loads `bytes` into a fresh state: OK, or the error.
flywheel::Status Load(LearnedState* state, const std::string& bytes) {
  const auto view = flywheel::engine::DecodeSnapshot(bytes, "fuzz");
  FUZZ_CHECK(view.ok(), "the harness's snapshot does not decode");
  flywheel::base::WriterLock lock(&state->mu);
  FLYWHEEL_RETURN_IF_ERROR(state->Reset());
  return state->Load(*view, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts =
      flywheel::fuzz::SplitParts(flywheel::fuzz::AsText(data, size), std::size(kSections));
  std::vector<SnapshotSection> sections;
  for (size_t i = 0; i < parts.size(); ++i) {
    sections.push_back({kSections[i], std::string(parts[i])});
  }
  const std::string bytes = flywheel::engine::EncodeSnapshot(7, sections);
  LearnedState state(Specs(), flywheel::EventTypeTable::Default(), 50);
  if (!Load(&state, bytes).ok()) {
    return 0;
  }
  std::vector<SnapshotSection> saved;
  {
    flywheel::base::ReaderLock lock(&state.mu);
    FUZZ_CHECK(state.Save(7, &saved).ok(), "a loaded state does not save");
  }
  LearnedState again(Specs(), flywheel::EventTypeTable::Default(), 50);
  const flywheel::Status reloaded = Load(&again, flywheel::engine::EncodeSnapshot(7, saved));
  FUZZ_CHECK(reloaded.ok(), "the saved state does not load: " + reloaded.ToString());
  return 0;
}
