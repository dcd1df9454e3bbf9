// Engine snapshot files (engine/store/snapshot_file.h, doc/formats/snapshot.md): DecodeSnapshot
// on raw bytes (magic, version, section lengths, CRCs, footer). Never a crash; what decodes
// re-encodes (EncodeSnapshot) to a file that decodes to the same sections.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/store/snapshot_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto view = flywheel::engine::DecodeSnapshot(flywheel::fuzz::AsText(data, size), "fuzz");
  if (!view.ok()) {
    return 0;
  }
  std::vector<flywheel::engine::SnapshotSection> sections;
  for (const auto& [name, payload] : view->sections) {
    sections.push_back({name, std::string(payload)});
  }
  const std::string again = flywheel::engine::EncodeSnapshot(view->seq, sections);
  const auto second = flywheel::engine::DecodeSnapshot(again, "fuzz re-encoded");
  FUZZ_CHECK(second.ok(), "re-encoded snapshot does not decode");
  FUZZ_CHECK(second->seq == view->seq, "seq changed");
  FUZZ_CHECK(second->sections.size() == view->sections.size(), "section count changed");
  for (size_t i = 0; i < sections.size(); ++i) {
    FUZZ_CHECK(second->sections[i].first == sections[i].name, "section name changed");
    FUZZ_CHECK(second->sections[i].second == sections[i].payload, "section payload changed");
  }
  return 0;
}
