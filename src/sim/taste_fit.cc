#include "sim/taste_fit.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>
#include <utility>
#include <vector>

#include "flywheel/event_types.h"

#include "data/dataset.h"

namespace flywheel::sim {
namespace {

using Pair = std::pair<int, int>;  // (user, item), dense after selection

// Indices [0, n) ordered by count (descending, ties by index), the first `limit` (0: all),
// mapped: old index -> new index or -1.
std::vector<int> SelectTop(const std::vector<int64_t>& counts, int limit) {
  std::vector<int> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return counts[a] > counts[b]; });
  std::vector<int> map(counts.size(), -1);
  const size_t keep = limit > 0 ? std::min(order.size(), static_cast<size_t>(limit)) : order.size();
  int next = 0;
  for (size_t n = 0; n < keep; ++n) {
    if (counts[order[n]] > 0) {
      map[order[n]] = next++;
    }
  }
  return map;
}

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t d = 0; d < a.size(); ++d) {
    s += static_cast<double>(a[d]) * b[d];
  }
  return s;
}

// BPR by SGD over the positive pairs, one sampled negative each.
void FitBpr(const std::vector<Pair>& pairs, const TasteFitOptions& options,
            std::vector<SimUser>* users, std::vector<SimItem>* items, base::Rng& rng) {
  std::unordered_set<uint64_t> positive;
  for (const auto& [u, i] : pairs) {
    positive.insert((static_cast<uint64_t>(u) << 32) | static_cast<uint32_t>(i));
  }
  std::vector<Pair> order = pairs;
  const double lr = options.learning_rate;
  const double reg = options.regularisation;
  const size_t dim = users->empty() ? 0 : (*users)[0].u.size();
  std::vector<double> diff(dim);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    for (size_t n = order.size(); n > 1; --n) {
      std::swap(order[n - 1], order[rng.Uniform(n)]);
    }
    for (const auto& [u, i] : order) {
      int j = static_cast<int>(rng.Uniform(items->size()));
      for (int tries = 0; tries < 5 && positive.count((static_cast<uint64_t>(u) << 32) |
                                                      static_cast<uint32_t>(j)) != 0;
           ++tries) {
        j = static_cast<int>(rng.Uniform(items->size()));
      }
      std::vector<float>& pu = (*users)[u].u;
      std::vector<float>& qi = (*items)[i].v;
      std::vector<float>& qj = (*items)[j].v;
      double x = 0;
      for (size_t d = 0; d < dim; ++d) {
        diff[d] = static_cast<double>(qi[d]) - qj[d];
        x += pu[d] * diff[d];
      }
      const double g = 1.0 / (1.0 + std::exp(x));  // sigmoid(-x)
      for (size_t d = 0; d < dim; ++d) {
        const double uu = pu[d];
        pu[d] = static_cast<float>(uu + lr * (g * diff[d] - reg * uu));
        qi[d] = static_cast<float>(qi[d] + lr * (g * uu - reg * qi[d]));
        qj[d] = static_cast<float>(qj[d] + lr * (-g * uu - reg * qj[d]));
      }
    }
  }
}

}  // namespace

Result<World> FitWorld(const TasteFitOptions& options, WorldOptions base) {
  FLYWHEEL_ASSIGN_OR_RETURN(
      data::Dataset dataset,
      data::LoadDataset(options.dataset, EventTypeTable::Default(), data::SkipPolicy{}));
  std::vector<int64_t> user_count(dataset.users.size(), 0);
  std::vector<int64_t> item_count(dataset.items.size(), 0);
  for (const data::Interaction& e : dataset.events) {
    if (e.weight > 0) {
      ++user_count[e.user];
      ++item_count[e.item];
    }
  }
  const std::vector<int> user_map = SelectTop(user_count, options.max_users);
  const std::vector<int> item_map = SelectTop(item_count, options.max_items);
  std::vector<Pair> pairs;
  std::unordered_set<uint64_t> seen;
  for (const data::Interaction& e : dataset.events) {
    const int u = user_map[e.user];
    const int i = item_map[e.item];
    if (e.weight > 0 && u >= 0 && i >= 0 &&
        seen.insert((static_cast<uint64_t>(u) << 32) | static_cast<uint32_t>(i)).second) {
      pairs.emplace_back(u, i);
    }
  }
  if (pairs.empty()) {
    return Status::InvalidArgument("simulate: --tastes-from " + options.dataset +
                                   ": no positive events to fit tastes on");
  }
  base::Rng rng(base::Mix64(options.seed ^ 0x7a57e5ULL));
  const int dim = base.dim;
  std::vector<SimUser> users(*std::max_element(user_map.begin(), user_map.end()) + 1);
  std::vector<SimItem> items(*std::max_element(item_map.begin(), item_map.end()) + 1);
  for (size_t old = 0; old < user_map.size(); ++old) {
    if (user_map[old] >= 0) {
      SimUser& user = users[user_map[old]];
      user.id = "u" + dataset.users.external(static_cast<uint32_t>(old));
      user.u.resize(dim);
      for (float& x : user.u) {
        x = static_cast<float>(rng.Normal() * 0.1);
      }
    }
  }
  for (size_t old = 0; old < item_map.size(); ++old) {
    if (item_map[old] >= 0) {
      SimItem& item = items[item_map[old]];
      item.id = "i" + dataset.items.external(static_cast<uint32_t>(old));
      if (old < dataset.item_meta.size() && !dataset.item_meta[old].categories.empty()) {
        item.category = dataset.item_meta[old].categories[0];
      }
      item.popularity = static_cast<double>(item_count[old]);
      item.v.resize(dim);
      for (float& x : item.v) {
        x = static_cast<float>(rng.Normal() * 0.1);
      }
    }
  }
  FitBpr(pairs, options, &users, &items, rng);
  // Standardise the affinity over random pairs.
  double sum = 0;
  double sum2 = 0;
  constexpr int kSamples = 20'000;
  for (int n = 0; n < kSamples; ++n) {
    const double x = Dot(users[rng.Uniform(users.size())].u, items[rng.Uniform(items.size())].v);
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / kSamples;
  base.affinity_shift = mean;
  base.affinity_scale = std::max(1e-6, std::sqrt(std::max(0.0, sum2 / kSamples - mean * mean)));
  return World(base, std::move(users), std::move(items));
}

}  // namespace flywheel::sim
