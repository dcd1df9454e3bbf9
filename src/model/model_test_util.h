// Test helpers shared by the model tests: hand-built interactions and a synthetic stream with
// taste groups. Header-only, for *_test.cc files.
#pragma once

#include <cstdint>
#include <vector>

#include "flywheel/types.h"

#include "base/random.h"
#include "data/interaction.h"

namespace flywheel::model::test {

inline data::Interaction Ev(UserIdx user, ItemIdx item, TimestampMs ts, float weight = 1.0f,
                            float value = 1.0f) {
  data::Interaction e;
  e.user = user;
  e.item = item;
  e.ts_ms = ts;
  e.weight = weight;
  e.value = value;
  return e;
}

// `events` interactions, one every `spacing_ms`: user u (uniform over `users`) is in taste group
// u % groups and consumes items of its group uniformly (item i is in group i % groups).
inline std::vector<data::Interaction> GroupedStream(int users, int items, int groups, int events,
                                                    uint64_t seed, TimestampMs spacing_ms) {
  base::Rng rng(seed);
  std::vector<data::Interaction> out;
  const int per_group = items / groups;
  for (int n = 0; n < events; ++n) {
    const auto user = static_cast<UserIdx>(rng.Uniform(static_cast<uint64_t>(users)));
    const auto slot = static_cast<int>(rng.Uniform(static_cast<uint64_t>(per_group)));
    const auto item = static_cast<ItemIdx>(slot * groups + static_cast<int>(user) % groups);
    out.push_back(Ev(user, item, spacing_ms * n));
  }
  return out;
}

}  // namespace flywheel::model::test
