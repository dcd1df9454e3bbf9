// Semi-synthetic tastes (`flywheel simulate --tastes-from DATASET`): user and item vectors from
// a quick BPR fit (SGD, sampled negatives) on a real dataset's positive events, read with the
// dataset readers of src/data; the click model is calibrated so that the fitted affinity,
// standardised over random (user, item) pairs, plays the role of the synthetic <u, v>.
#pragma once

#include <cstdint>
#include <string>

#include "flywheel/result.h"

#include "sim/world.h"

namespace flywheel::sim {

struct TasteFitOptions {
  std::string dataset;  // a dataset spec: movielens:DIR, events:FILE, ... (data/dataset.h)
  int epochs = 20;
  double learning_rate = 0.05;
  double regularisation = 0.01;
  int max_users = 0;  // > 0: the most active users only
  int max_items = 0;  // > 0: the most popular items only
  uint64_t seed = 1;
};

// The world: one user per dataset user, one item per dataset item (its first category, its
// event count as popularity), vectors of `base.dim` components; the other fields of `base`
// (click model, examination, drift) kept.
Result<World> FitWorld(const TasteFitOptions& options, WorldOptions base);

}  // namespace flywheel::sim
