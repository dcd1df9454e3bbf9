// World: the simulator's ground truth (doc/simulate.md): a catalogue of items with latent vectors,
// categories and popularity, users with latent tastes, and the click model that turns a shown
// list into clicks and purchases. Nothing here talks to a server: the simulator (simulator.h)
// asks a SimTarget for lists and plays them against this model.
//
// Click model: user u clicks item i, once examined, with probability
//   c(u, i, n) = sigmoid(a * (<u, v_i> - shift) / scale + b) * fatigue^n
// where n is the number of times i was shown to u before; a click becomes a purchase with
// probability buy_prob. Examination: position-based (P(examine position p) = 1 / (1 + p)^eta,
// independent of the other positions) or cascade (positions top-down until the first click).
//
// Not thread-safe; deterministic: every random draw comes from an Rng the caller passes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "flywheel/types.h"

#include "base/random.h"

namespace flywheel::sim {

enum class Examination { kPositionBased, kCascade };

struct WorldOptions {
  int users = 1000;
  int items = 1000;  // the catalogue before the first day
  int dim = 16;
  int categories = 8;         // latent clusters; an item's category is its cluster ("g3")
  double click_scale = 1.5;   // a
  double click_bias = -4.0;   // b
  double affinity_shift = 0;  // subtracted from <u, v> (semi-synthetic calibration)
  double affinity_scale = 1;  // <u, v> is divided by it
  double buy_prob = 0.1;      // P(purchase | click)
  double fatigue = 0.85;      // click probability factor per earlier showing of the item
  double drift = 0.05;        // taste random-walk step per simulated day (per component sd)
  double zipf = 1.0;          // popularity exponent (organic discovery)
  Examination examination = Examination::kPositionBased;
  double eta = 1.0;  // position-based examination: 1 / (1 + p)^eta
};

struct SimItem {
  std::string id;
  std::string category;
  std::vector<float> v;
  double popularity = 1.0;  // relative weight of organic discovery
  TimestampMs arrived_ms = 0;
  int arrival_day = 0;  // 0: the initial catalogue
};

struct SimUser {
  std::string id;
  std::vector<float> u;
};

class World {
 public:
  // A synthetic world: clustered latent vectors drawn from `seed`.
  static World Synthetic(const WorldOptions& options, uint64_t seed);
  // A world from given vectors (semi-synthetic mode); options.users/items/dim are taken from
  // the vectors.
  World(const WorldOptions& options, std::vector<SimUser> users, std::vector<SimItem> items);

  const WorldOptions& options() const { return options_; }
  int num_users() const { return static_cast<int>(users_.size()); }
  int num_items() const { return static_cast<int>(items_.size()); }
  const SimUser& user(int u) const { return users_[u]; }
  const SimItem& item(int i) const { return items_[i]; }
  // The item's index, or -1 for an id the world does not know.
  int FindItem(const std::string& id) const;

  // Ground-truth click probability once examined, before fatigue.
  double Attraction(int user, int item) const;
  // With fatigue: the item was shown to the user `shown_before` times already.
  double ClickProb(int user, int item, int shown_before) const;
  // P(examine position p) under the position-based model.
  double ExamProb(int position) const;
  // Per position, the probability that the item there is clicked, given each position's
  // click probability once examined (the examination model applied).
  std::vector<double> ClickMarginals(std::span<const double> click_probs) const;
  // Expected reward of a list: sum of its click marginals times the expected reward of a click
  // (click_weight + buy_prob * buy_weight).
  double ExpectedReward(std::span<const double> click_probs, double reward_per_click) const;

  // Adds `count` new items (arrival day and time given), drawn like the initial ones; their
  // ids continue the numbering ("i<n>"). Returns the first new index.
  int AddItems(int count, int day, TimestampMs arrived_ms, base::Rng& rng);
  // One simulated day of taste drift: every user's vector takes a Gaussian step.
  void Drift(base::Rng& rng);

 private:
  std::vector<float> DrawItemVector(int category, base::Rng& rng) const;
  void Index(int first);

  WorldOptions options_;
  std::vector<SimUser> users_;
  std::vector<SimItem> items_;
  std::vector<std::vector<float>> centroids_;  // synthetic worlds: one per category
  std::unordered_map<std::string, int> item_index_;
};

// One user's reaction to one shown list.
struct Session {
  std::vector<uint8_t> examined;
  std::vector<uint8_t> clicked;
  std::vector<uint8_t> bought;
};

// Samples a session: `click_probs[p]` is the click probability of the item at position p once
// examined (fatigue included).
Session SampleSession(const World& world, std::span<const double> click_probs, base::Rng& rng);

// Parses "pbm" / "cascade".
bool ParseExamination(const std::string& text, Examination* out);
const char* ExaminationName(Examination examination);

}  // namespace flywheel::sim
