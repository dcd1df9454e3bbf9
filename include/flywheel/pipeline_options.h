// PipelineOptions: the options of the engine's serving stages (doc/engine.md, "Serving
// stages"; checked by engine::ValidatePipelineOptions at Engine::Open).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flywheel {

struct PipelineOptions {
  // Defaults measured with flywheel_load_bench (bench/results/server.md): an HNSW search costs
  // about its width (max(ef_search, k)), so the candidate count drives the read cost.
  int candidates = 50;           // from the model (ANN or exact)
  int neighbour_seeds = 1;       // recent positive items whose neighbours become candidates
  int neighbours_per_seed = 10;  // neighbours per seed
  int trending_candidates = 50;  // trending items offered as candidates
  // Content matches: trending items of the categories of the user's recent positive items
  // (their `neighbour_seeds` most recent, at least 1), offered as candidates; 0: off.
  int content_candidates = 0;
  double exploration = 0.1;  // share of the k slots offered to new items, 0..0.5
  int64_t new_item_window_ms = 3LL * 24 * 3600 * 1000;  // "new": first seen within this window
  std::vector<std::string> exclude_categories;          // business rule: never recommended
  int max_per_category = 0;  // business rule: at most this many items per first category; 0 off
  // Candidate retrieval for models with vectors: "hnsw" (approximate, doc/ann.md), "flat"
  // (exact index) or "none" (exact scan of the model's vectors). The index is built in the
  // background once the model knows ann_min_items items and used once it covers them; smaller
  // catalogues are scanned exactly (deterministic).
  std::string ann = "hnsw";
  size_t ann_min_items = 20000;
};

}  // namespace flywheel
