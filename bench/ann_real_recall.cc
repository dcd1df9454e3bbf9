// flywheel_ann_real_recall: recall@10 of HnswIndex against FlatIndex on learned vectors.
//
//   flywheel_ann_real_recall DATASET_SPEC     e.g. movielens:../shared/datasets/ml-1m-partial
//
// Trains `bpr` (default options) with Fit on all events of the dataset, then indexes item i as
// [q_i, b_i] and queries with [p_u, 1] for every user with a row, so <query, item> is exactly
// Bpr::Score(user, item). Prints one JSON line per ef_search (recall@10, CPU µs per query) after
// one line describing the item norms. Results and commands: bench/results/ann.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include <time.h>

#include "ann/ann_index.h"
#include "ann/flat_index.h"
#include "ann/hnsw_index.h"
#include "ann/recall.h"
#include "data/dataset.h"
#include "model/bpr.h"

namespace {

namespace fw = flywheel;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int Fail(const fw::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: flywheel_ann_real_recall DATASET_SPEC\n");
    return 2;
  }
  auto dataset =
      fw::data::LoadDataset(argv[1], fw::EventTypeTable::Default(), fw::data::SkipPolicy{});
  if (!dataset.ok()) {
    return Fail(dataset.status());
  }
  const fw::model::BprOptions options;
  auto bpr = fw::model::Bpr::Create(options);
  if (!bpr.ok()) {
    return Fail(bpr.status());
  }
  if (const fw::Status fit = (*bpr)->Fit(dataset->events); !fit.ok()) {
    return Fail(fit);
  }
  const uint32_t dim = options.dim + 1;
  fw::ann::FlatIndex flat(dim);
  auto hnsw = fw::ann::HnswIndex::Create(dim, fw::ann::AnnParams{});
  if (!hnsw.ok()) {
    return Fail(hnsw.status());
  }
  std::vector<double> norms;
  for (uint32_t item = 0; item < dataset->items.size(); ++item) {
    const std::vector<float> row = (*bpr)->ItemRow(item);
    if (row.empty()) {
      continue;
    }
    double norm2 = 0;
    for (size_t k = 0; k + 1 < row.size(); ++k) {
      norm2 += static_cast<double>(row[k]) * row[k];
    }
    norms.push_back(std::sqrt(norm2));
    if (!flat.Upsert(item, row).ok() || !(*hnsw)->Upsert(item, row).ok()) {
      return Fail(fw::Status::Internal("upsert failed"));
    }
  }
  std::vector<float> queries;
  for (uint32_t user = 0; user < dataset->users.size(); ++user) {
    std::vector<float> row = (*bpr)->UserRow(user);
    if (!row.empty()) {
      row.back() = 1.0f;  // multiplies the item bias
      queries.insert(queries.end(), row.begin(), row.end());
    }
  }
  std::sort(norms.begin(), norms.end());
  const auto quantile = [&](double q) {
    return norms.empty() ? 0.0
                         : norms[static_cast<size_t>(q * static_cast<double>(norms.size() - 1))];
  };
  std::printf(
      "{\"dataset\":\"%s\",\"items\":%zu,\"queries\":%zu,\"dim\":%u,\"item_norm_p05\":%.4f,"
      "\"item_norm_p50\":%.4f,\"item_norm_p95\":%.4f,\"item_norm_max\":%.4f}\n",
      argv[1], flat.size(), queries.size() / dim, dim, quantile(0.05), quantile(0.5),
      quantile(0.95), quantile(1.0));
  for (const int ef : {10, 20, 40, 100}) {
    if (!(*hnsw)->SetEfSearch(ef).ok()) {
      return Fail(fw::Status::Internal("ef"));
    }
    const double start = CpuSeconds();
    auto recall = fw::ann::RecallAtK(**hnsw, flat, queries, 10);  // both indexes searched
    const double cpu = CpuSeconds() - start;
    if (!recall.ok()) {
      return Fail(recall.status());
    }
    std::printf("{\"ef_search\":%d,\"recall_at_10\":%.4f,\"cpu_us_per_query_pair\":%.1f}\n", ef,
                *recall, 1e6 * cpu / static_cast<double>(queries.size() / dim));
  }
  return 0;
}
