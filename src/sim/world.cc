#include "sim/world.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace flywheel::sim {
namespace {

double Sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Component sd of the latent vectors: <u, v> of independent vectors has variance about 1.
double ComponentSd(int dim) {
  return std::pow(static_cast<double>(dim), -0.25);
}

std::vector<float> Gaussian(int dim, double sd, base::Rng& rng) {
  std::vector<float> out(dim);
  for (float& x : out) {
    x = static_cast<float>(rng.Normal() * sd);
  }
  return out;
}

}  // namespace

World World::Synthetic(const WorldOptions& options, uint64_t seed) {
  base::Rng rng(base::Mix64(seed ^ 0x57a11d5eedULL));
  const int dim = options.dim;
  const double sd = ComponentSd(dim);
  std::vector<std::vector<float>> centroids;
  for (int c = 0; c < std::max(1, options.categories); ++c) {
    centroids.push_back(Gaussian(dim, sd, rng));
  }
  std::vector<SimUser> users(options.users);
  for (int u = 0; u < options.users; ++u) {
    users[u].id = "u" + std::to_string(u);
    const std::vector<float>& fav = centroids[rng.Uniform(centroids.size())];
    std::vector<float> noise = Gaussian(dim, sd, rng);
    users[u].u.resize(dim);
    for (int d = 0; d < dim; ++d) {
      users[u].u[d] = static_cast<float>(0.8 * fav[d] + 0.6 * noise[d]);
    }
  }
  World world(options, std::move(users), {});
  world.centroids_ = std::move(centroids);
  world.options_.items = options.items;  // the initial catalogue's size (popularity ranks)
  world.AddItems(options.items, 0, 0, rng);
  return world;
}

World::World(const WorldOptions& options, std::vector<SimUser> users, std::vector<SimItem> items)
    : options_(options), users_(std::move(users)), items_(std::move(items)) {
  options_.users = static_cast<int>(users_.size());
  options_.items = static_cast<int>(items_.size());
  if (!users_.empty()) {
    options_.dim = static_cast<int>(users_[0].u.size());
  }
  Index(0);
}

void World::Index(int first) {
  for (int i = first; i < num_items(); ++i) {
    item_index_[items_[i].id] = i;
  }
}

int World::FindItem(const std::string& id) const {
  auto it = item_index_.find(id);
  return it == item_index_.end() ? -1 : it->second;
}

double World::Attraction(int user, int item) const {
  const std::vector<float>& u = users_[user].u;
  const std::vector<float>& v = items_[item].v;
  double dot = 0;
  for (size_t d = 0; d < u.size(); ++d) {
    dot += static_cast<double>(u[d]) * v[d];
  }
  const double x = (dot - options_.affinity_shift) / options_.affinity_scale;
  return Sigmoid(options_.click_scale * x + options_.click_bias);
}

double World::ClickProb(int user, int item, int shown_before) const {
  return Attraction(user, item) * std::pow(options_.fatigue, shown_before);
}

double World::ExamProb(int position) const {
  return std::pow(1.0 + position, -options_.eta);
}

std::vector<double> World::ClickMarginals(std::span<const double> click_probs) const {
  std::vector<double> out(click_probs.size());
  double reach = 1.0;  // cascade: P(no click above)
  for (size_t p = 0; p < click_probs.size(); ++p) {
    if (options_.examination == Examination::kPositionBased) {
      out[p] = ExamProb(static_cast<int>(p)) * click_probs[p];
    } else {
      out[p] = reach * click_probs[p];
      reach *= 1.0 - click_probs[p];
    }
  }
  return out;
}

double World::ExpectedReward(std::span<const double> click_probs, double reward_per_click) const {
  double sum = 0;
  for (double m : ClickMarginals(click_probs)) {
    sum += m;
  }
  return sum * reward_per_click;
}

std::vector<float> World::DrawItemVector(int category, base::Rng& rng) const {
  const int dim = options_.dim;
  const double sd = ComponentSd(dim);
  std::vector<float> v = Gaussian(dim, sd, rng);
  if (!centroids_.empty()) {
    const std::vector<float>& c = centroids_[category];
    for (int d = 0; d < dim; ++d) {
      v[d] = static_cast<float>(0.7 * c[d] + 0.7 * v[d]);
    }
  }
  return v;
}

int World::AddItems(int count, int day, TimestampMs arrived_ms, base::Rng& rng) {
  const int first = num_items();
  const int initial = std::max(1, options_.items);
  for (int n = 0; n < count; ++n) {
    SimItem item;
    // Semi-synthetic items keep their dataset ids ("i<id>"): new ones are "new<n>".
    item.id = (centroids_.empty() ? "new" : "i") + std::to_string(first + n);
    if (!centroids_.empty()) {
      const int category = static_cast<int>(rng.Uniform(centroids_.size()));
      item.category = "g" + std::to_string(category);
      item.v = DrawItemVector(category, rng);
    } else {
      // Semi-synthetic: like a random initial item (its category), plus noise.
      const SimItem& like = items_[rng.Uniform(std::min(first, initial))];
      item.category = like.category;
      item.v = like.v;
      const double sd = 0.5 * ComponentSd(options_.dim) * std::sqrt(options_.affinity_scale);
      for (float& x : item.v) {
        x = static_cast<float>(x + rng.Normal() * sd);
      }
    }
    // Popularity: a Zipf weight of a random rank among the initial catalogue.
    const double rank = 1.0 + static_cast<double>(rng.Uniform(initial));
    item.popularity = std::pow(rank, -options_.zipf);
    item.arrived_ms = arrived_ms;
    item.arrival_day = day;
    items_.push_back(std::move(item));
  }
  Index(first);
  return first;
}

void World::Drift(base::Rng& rng) {
  if (options_.drift <= 0) {
    return;
  }
  const double sd = options_.drift * ComponentSd(options_.dim) * std::sqrt(options_.affinity_scale);
  for (SimUser& user : users_) {
    for (float& x : user.u) {
      x = static_cast<float>(x + rng.Normal() * sd);
    }
  }
}

Session SampleSession(const World& world, std::span<const double> click_probs, base::Rng& rng) {
  const size_t n = click_probs.size();
  Session s{std::vector<uint8_t>(n, 0), std::vector<uint8_t>(n, 0), std::vector<uint8_t>(n, 0)};
  const bool cascade = world.options().examination == Examination::kCascade;
  for (size_t p = 0; p < n; ++p) {
    const double exam = cascade ? 1.0 : world.ExamProb(static_cast<int>(p));
    // Draw all three numbers always, so one position's outcome never shifts the next draws.
    const double r_exam = rng.UniformDouble();
    const double r_click = rng.UniformDouble();
    const double r_buy = rng.UniformDouble();
    s.examined[p] = r_exam < exam ? 1 : 0;
    s.clicked[p] = (s.examined[p] != 0 && r_click < click_probs[p]) ? 1 : 0;
    s.bought[p] = (s.clicked[p] != 0 && r_buy < world.options().buy_prob) ? 1 : 0;
    if (cascade && s.clicked[p] != 0) {
      break;
    }
  }
  return s;
}

bool ParseExamination(const std::string& text, Examination* out) {
  if (text == "pbm") {
    *out = Examination::kPositionBased;
    return true;
  }
  if (text == "cascade") {
    *out = Examination::kCascade;
    return true;
  }
  return false;
}

const char* ExaminationName(Examination examination) {
  return examination == Examination::kCascade ? "cascade" : "pbm";
}

}  // namespace flywheel::sim
