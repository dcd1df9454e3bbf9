// flywheel_torch_bench: the same SASRec (L = 50, d = 64, 2 blocks, 1 head, BCE with one
// negative, dropout 0.2, Adam 1e-3) trained in LibTorch (torch_sasrec.h) and in Flywheel
// (model/sasrec.h) on the same sequences, in one run, reporting side by side:
//   (a) batch training sequences/s at batch 128 (`--threads` threads on both sides),
//   (b) online update latency p50 / p99: one step on the event's sequence (loss on the newest
//       position) plus one replayed sequence, i.e. what Sasrec::Observe does; and a batch-1
//       training step (one 51-item sequence, loss on all 50 positions),
//   (c) inference latency for one user: encode a 50-item history, score the whole catalogue,
//       top 10.
// (b) and (c) run single-threaded on both sides (Flywheel's Observe and Recommend are).
// Sequences: the last 51 positive items of every user with at least 51 (--dataset SPEC, read
// at run time), or random sequences over a synthetic catalogue (default).
//
// Optional target: cmake -DFLYWHEEL_TORCH_BENCH=ON (needs Debian libtorch-dev); not a test.
// Usage: flywheel_torch_bench [--dataset SPEC] [--threads 2] [--steps 30] [--events 300]
//                             [--queries 300] [--items 3700]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "base/random.h"
#include "data/dataset.h"
#include "model/sasrec.h"
#include "model/user_state.h"
#include "torch_sasrec.h"

namespace flywheel::bench {
namespace {

constexpr int kLen = 51;  // max_len 50 inputs + 1 target
constexpr int kBatch = 128;

struct Flags {
  std::string dataset;
  int threads = 2;
  int steps = 30;
  int events = 300;
  int queries = 300;
  int items = 3700;
};

struct Data {
  int64_t items = 0;
  std::vector<std::vector<ItemIdx>> seqs;  // each kLen items
};

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU seconds of the whole process (all threads).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Sequences per wall-clock second and per CPU second.
struct Throughput {
  double wall = 0, cpu = 0;
};

Throughput Rate(Clock::time_point start, double cpu_start, int sequences) {
  return {sequences / (Ms(start) / 1000.0), sequences / (CpuSeconds() - cpu_start)};
}

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dataset") {
      f.dataset = v;
    } else if (k == "--threads") {
      f.threads = std::atoi(v);
    } else if (k == "--steps") {
      f.steps = std::atoi(v);
    } else if (k == "--events") {
      f.events = std::atoi(v);
    } else if (k == "--queries") {
      f.queries = std::atoi(v);
    } else if (k == "--items") {
      f.items = std::atoi(v);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return f;
}

Data LoadData(const Flags& flags) {
  Data d;
  if (flags.dataset.empty()) {
    d.items = flags.items;
    base::Rng rng(5);
    d.seqs.resize(2000);
    for (auto& s : d.seqs) {
      for (int t = 0; t < kLen; ++t) {
        s.push_back(static_cast<ItemIdx>(rng.Uniform(d.items)));
      }
    }
    return d;
  }
  auto ds = data::LoadDataset(flags.dataset, EventTypeTable::Default(), {});
  if (!ds.ok()) {
    std::fprintf(stderr, "%s\n", ds.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<std::vector<ItemIdx>> per_user;
  for (const data::Interaction& e : ds->events) {
    d.items = std::max<int64_t>(d.items, static_cast<int64_t>(e.item) + 1);
    if (e.weight > 0) {
      per_user.resize(std::max<size_t>(per_user.size(), e.user + 1));
      per_user[e.user].push_back(e.item);
    }
  }
  for (const auto& s : per_user) {
    if (s.size() >= kLen) {
      d.seqs.emplace_back(s.end() - kLen, s.end());
    }
  }
  return d;
}

// ---- Flywheel -------------------------------------------------------------------------------

std::unique_ptr<model::Sasrec> MakeFlywheel(const Data& data, int threads) {
  model::SasrecOptions o;
  o.loss = model::SasrecLoss::kBce;
  o.negatives = 1;
  o.threads = threads;
  o.online_lr = 1e-3f;
  auto m = std::move(*model::Sasrec::Create(o));
  std::vector<data::Interaction> history;  // one-item users: registers the catalogue only
  for (int64_t i = 0; i < data.items; ++i) {
    data::Interaction e;
    e.user = static_cast<UserIdx>(i);
    e.item = static_cast<ItemIdx>(i);
    history.push_back(e);
  }
  (void)m->Fit(history);
  return m;
}

Throughput FlywheelTrain(const Data& data, int threads, int steps) {
  auto m = MakeFlywheel(data, threads);
  std::vector<model::Sasrec::Example> ex;
  for (const auto& s : data.seqs) {
    ex.push_back({s, 0});
  }
  std::vector<const model::Sasrec::Example*> batch(kBatch);
  base::Rng rng(11);
  auto step = [&] {
    for (auto& p : batch) {
      p = &ex[rng.Uniform(ex.size())];
    }
    m->TrainStep(batch, threads, 1e-3f);
  };
  step();  // warm-up: buffers
  const auto start = Clock::now();
  const double cpu = CpuSeconds();
  for (int i = 0; i < steps; ++i) {
    step();
  }
  return Rate(start, cpu, kBatch * steps);
}

std::vector<double> FlywheelBatch1(const Data& data, int events) {
  auto m = MakeFlywheel(data, 1);
  std::vector<double> ms;
  for (int i = 0; i <= events; ++i) {
    const model::Sasrec::Example ex{data.seqs[i % data.seqs.size()], 0};
    const model::Sasrec::Example* p = &ex;
    const auto start = Clock::now();
    m->TrainStep(std::span(&p, 1), 1, 1e-3f);
    if (i > 0) {
      ms.push_back(Ms(start));
    }
  }
  return ms;
}

model::UserState History(const std::vector<ItemIdx>& seq, size_t n) {
  model::UserState user;
  for (size_t t = 0; t < n; ++t) {
    data::Interaction e;
    e.item = seq[t];
    user.Add(e);
  }
  return user;
}

std::vector<double> FlywheelObserve(const Data& data, int events) {
  auto m = MakeFlywheel(data, 1);
  std::vector<double> ms;
  for (int i = 0; i <= events; ++i) {
    const auto& seq = data.seqs[i % data.seqs.size()];
    const model::UserState user = History(seq, kLen - 1);
    data::Interaction e;
    e.item = seq.back();
    const auto start = Clock::now();
    m->Observe(e, user);  // step on this sequence + 1 replayed one (filled by earlier events)
    if (i > 0) {
      ms.push_back(Ms(start));
    }
  }
  return ms;
}

std::vector<double> FlywheelRecommend(const Data& data, int queries) {
  auto m = MakeFlywheel(data, 1);
  std::vector<model::ScoredItem> out;
  std::vector<double> ms;
  for (int i = 0; i <= queries; ++i) {
    const model::UserState user = History(data.seqs[i % data.seqs.size()], kLen - 1);
    model::RecommendRequest req;
    req.k = 10;
    req.user_state = &user;
    const auto start = Clock::now();
    m->Recommend(req, &out);
    if (i > 0) {
      ms.push_back(Ms(start));
    }
  }
  return ms;
}

// ---- LibTorch --------------------------------------------------------------------------------

struct TorchRun {
  std::shared_ptr<TorchSasrec> model;
  std::unique_ptr<torch::optim::Adam> adam;
};

TorchRun MakeTorch(const Data& data) {
  TorchRun r;
  r.model = std::make_shared<TorchSasrec>(data.items, 64, 1, 2, 50, 0.2);
  r.adam =
      std::make_unique<torch::optim::Adam>(r.model->parameters(), torch::optim::AdamOptions(1e-3));
  return r;
}

// One Adam step on rows `rows` of data.seqs; loss on positions >= first_target.
void TorchStep(TorchRun* r, const Data& data, const std::vector<size_t>& rows, int first_target) {
  const int64_t b = static_cast<int64_t>(rows.size());
  auto seq = torch::empty({b, kLen}, torch::kLong);
  auto acc = seq.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    for (int t = 0; t < kLen; ++t) {
      acc[i][t] = data.seqs[rows[i]][t];
    }
  }
  auto input = seq.narrow(1, 0, kLen - 1);
  auto target = seq.narrow(1, 1, kLen - 1);
  auto negatives = torch::randint(data.items, {b, kLen - 1}, torch::kLong);
  auto mask = torch::zeros({b, kLen - 1});
  mask.narrow(1, first_target, kLen - 1 - first_target).fill_(1.0);
  r->adam->zero_grad();
  auto loss = r->model->BceLoss(r->model->Encode(input), target, negatives, mask);
  loss.backward();
  r->adam->step();
}

Throughput TorchTrain(const Data& data, int steps) {
  TorchRun r = MakeTorch(data);
  r.model->train();
  base::Rng rng(11);
  std::vector<size_t> rows(kBatch);
  auto step = [&] {
    for (auto& x : rows) {
      x = rng.Uniform(data.seqs.size());
    }
    TorchStep(&r, data, rows, 0);
  };
  step();
  const auto start = Clock::now();
  const double cpu = CpuSeconds();
  for (int i = 0; i < steps; ++i) {
    step();
  }
  return Rate(start, cpu, kBatch * steps);
}

// first_target 0: batch-1 step on one sequence; kLen - 2: the event's sequence + 1 replayed.
std::vector<double> TorchOnline(const Data& data, int events, bool observe) {
  TorchRun r = MakeTorch(data);
  r.model->train();
  base::Rng rng(12);
  std::vector<double> ms;
  for (int i = 0; i <= events; ++i) {
    std::vector<size_t> rows{i % data.seqs.size()};
    if (observe) {
      rows.push_back(rng.Uniform(data.seqs.size()));
    }
    const auto start = Clock::now();
    TorchStep(&r, data, rows, observe ? kLen - 2 : 0);
    if (i > 0) {
      ms.push_back(Ms(start));
    }
  }
  return ms;
}

std::vector<double> TorchRecommend(const Data& data, int queries) {
  TorchRun r = MakeTorch(data);
  r.model->eval();
  torch::InferenceMode guard;
  std::vector<double> ms;
  for (int i = 0; i <= queries; ++i) {
    const auto& s = data.seqs[i % data.seqs.size()];
    const auto start = Clock::now();
    auto seq = torch::empty({1, kLen - 1}, torch::kLong);
    auto acc = seq.accessor<int64_t, 2>();
    for (int t = 0; t < kLen - 1; ++t) {
      acc[0][t] = s[t];
    }
    auto h = r.model->Encode(seq).select(1, kLen - 2);          // [1, d]
    auto scores = torch::matmul(h, r.model->item_table().t());  // [1, items]
    auto top = std::get<1>(scores.topk(10));
    (void)top.data_ptr<int64_t>();
    if (i > 0) {
      ms.push_back(Ms(start));
    }
  }
  return ms;
}

void Row(const char* what, double fw, double torch_value, const char* unit, bool higher_better) {
  const double ratio = higher_better ? fw / torch_value : torch_value / fw;
  std::printf("| %s | %.4g %s | %.4g %s | %.2fx |\n", what, fw, unit, torch_value, unit, ratio);
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  const Data data = LoadData(flags);
  if (data.seqs.empty()) {
    std::fprintf(stderr, "no user with %d positive items\n", kLen);
    return 1;
  }
  std::printf(
      "data: %s, %zu sequences of %d items, %lld items; threads %d (batch), 1 (online, "
      "inference); torch %d.%d.%d\n",
      flags.dataset.empty() ? "synthetic" : flags.dataset.c_str(), data.seqs.size(), kLen,
      static_cast<long long>(data.items), flags.threads, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
      TORCH_VERSION_PATCH);
  torch::manual_seed(1);
  at::set_num_interop_threads(1);
  torch::set_num_threads(flags.threads);
  const Throughput fw_train = FlywheelTrain(data, flags.threads, flags.steps);
  const Throughput th_train = TorchTrain(data, flags.steps);
  torch::set_num_threads(1);
  const auto fw_obs = FlywheelObserve(data, flags.events);
  const auto th_obs = TorchOnline(data, flags.events, true);
  const auto fw_b1 = FlywheelBatch1(data, flags.events);
  const auto th_b1 = TorchOnline(data, flags.events, false);
  const auto fw_rec = FlywheelRecommend(data, flags.queries);
  const auto th_rec = TorchRecommend(data, flags.queries);
  std::printf("| measure | Flywheel | LibTorch | Flywheel advantage |\n|---|---|---|---|\n");
  Row("(a) train, batch 128, wall", fw_train.wall, th_train.wall, "seq/s", true);
  Row("(a) train, batch 128, per CPU second", fw_train.cpu, th_train.cpu, "seq/s", true);
  Row("(b) online update (event + 1 replay), p50", Quantile(fw_obs, 0.5), Quantile(th_obs, 0.5),
      "ms", false);
  Row("(b) online update (event + 1 replay), p99", Quantile(fw_obs, 0.99), Quantile(th_obs, 0.99),
      "ms", false);
  Row("(b') train step, batch 1 (50 targets), p50", Quantile(fw_b1, 0.5), Quantile(th_b1, 0.5),
      "ms", false);
  Row("(b') train step, batch 1 (50 targets), p99", Quantile(fw_b1, 0.99), Quantile(th_b1, 0.99),
      "ms", false);
  Row("(c) one user, top 10 over the catalogue, p50", Quantile(fw_rec, 0.5), Quantile(th_rec, 0.5),
      "ms", false);
  Row("(c) one user, top 10 over the catalogue, p99", Quantile(fw_rec, 0.99),
      Quantile(th_rec, 0.99), "ms", false);
  return 0;
}

}  // namespace
}  // namespace flywheel::bench

int main(int argc, char** argv) {
  return flywheel::bench::Main(argc, argv);
}
