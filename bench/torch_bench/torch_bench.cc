// flywheel_torch_bench: the same SASRec (L = 50, d = 64, 2 blocks, 1 head, BCE with one
// negative, dropout 0.2, Adam 1e-3) trained in LibTorch (torch_sasrec.h) and in Flywheel
// (model/sasrec.h) on the same sequences, in one run, reporting side by side:
//   (a) batch training sequences/s at batch 128 (`--threads` threads on both sides),
//   (b) online update latency p50 / p99: one step on the event's sequence (loss on the newest
//       position) plus one replayed sequence, i.e. what Sasrec::Observe does; and a batch-1
//       training step (one 51-item sequence, loss on all 50 positions),
//   (c) inference latency for one user: encode a 50-item history, score the whole catalogue,
//       top 10.
// The two sides' calls alternate (Flywheel, LibTorch, Flywheel, ...) so that both see the same
// load on a shared machine; each call's wall time and process CPU time are recorded, and the
// table gives medians (seq/s from the median step) and p99s.
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

model::UserState History(const std::vector<ItemIdx>& seq, size_t n) {
  model::UserState user;
  for (size_t t = 0; t < n; ++t) {
    data::Interaction e;
    e.item = seq[t];
    user.Add(e);
  }
  return user;
}

class FlywheelSide {
 public:
  FlywheelSide(const Data& data, int threads) : data_(data), threads_(threads), rng_(11) {
    model::SasrecOptions o;
    o.loss = model::SasrecLoss::kBce;
    o.negatives = 1;
    o.threads = threads;
    o.online_lr = 1e-3f;
    o.scratch_lr = 0;  // as measured: online_lr (and its anchor) on the unfitted model
    model_ = std::move(*model::Sasrec::Create(o));
    std::vector<data::Interaction> history;  // one-item users: registers the catalogue only
    for (int64_t i = 0; i < data.items; ++i) {
      data::Interaction e;
      e.user = static_cast<UserIdx>(i);
      e.item = static_cast<ItemIdx>(i);
      history.push_back(e);
    }
    (void)model_->Fit(history);
    for (const auto& s : data.seqs) {
      examples_.push_back({s, 0});
      users_.push_back(History(s, kLen - 1));  // built outside the timed calls
    }
  }

  void TrainBatch() {
    std::vector<const model::Sasrec::Example*> batch(kBatch);
    for (auto& p : batch) {
      p = &examples_[rng_.Uniform(examples_.size())];
    }
    model_->TrainStep(batch, threads_, 1e-3f);
  }

  // Sasrec::Observe: one step on the newest position of this sequence + 1 replayed sequence.
  void Observe(size_t i) {
    data::Interaction e;
    e.item = data_.seqs[i % data_.seqs.size()].back();
    model_->Observe(e, users_[i % users_.size()]);
  }

  void Batch1(size_t i) {
    const model::Sasrec::Example* p = &examples_[i % examples_.size()];
    model_->TrainStep(std::span(&p, 1), 1, 1e-3f);
  }

  void Recommend(size_t i) {
    model::RecommendRequest req;
    req.k = 10;
    req.user_state = &users_[i % users_.size()];  // no user id: the serving cache is not used
    model_->Recommend(req, &out_);
  }

 private:
  const Data& data_;
  int threads_;
  base::Rng rng_;
  std::unique_ptr<model::Sasrec> model_;
  std::vector<model::Sasrec::Example> examples_;
  std::vector<model::UserState> users_;
  std::vector<model::ScoredItem> out_;
};

// ---- LibTorch --------------------------------------------------------------------------------

class TorchSide {
 public:
  explicit TorchSide(const Data& data) : data_(data), rng_(12) {
    model_ = std::make_shared<TorchSasrec>(data.items, 64, 1, 2, 50, 0.2);
    adam_ =
        std::make_unique<torch::optim::Adam>(model_->parameters(), torch::optim::AdamOptions(1e-3));
  }

  void TrainBatch() {
    std::vector<size_t> rows(kBatch);
    for (auto& x : rows) {
      x = rng_.Uniform(data_.seqs.size());
    }
    Step(rows, 0);
  }
  void Observe(size_t i) {
    Step({i % data_.seqs.size(), rng_.Uniform(data_.seqs.size())}, kLen - 2);
  }
  void Batch1(size_t i) { Step({i % data_.seqs.size()}, 0); }

  void Recommend(size_t i) {
    model_->eval();
    {
      torch::InferenceMode guard;
      const auto& s = data_.seqs[i % data_.seqs.size()];
      auto seq = torch::empty({1, kLen - 1}, torch::kLong);
      auto acc = seq.accessor<int64_t, 2>();
      for (int t = 0; t < kLen - 1; ++t) {
        acc[0][t] = s[t];
      }
      auto h = model_->Encode(seq).select(1, kLen - 2);          // [1, d]
      auto scores = torch::matmul(h, model_->item_table().t());  // [1, items]
      auto top = std::get<1>(scores.topk(10));
      (void)top.data_ptr<int64_t>();
    }
    model_->train();
  }

 private:
  // One Adam step on rows `rows` of data.seqs; loss on positions >= first_target.
  void Step(const std::vector<size_t>& rows, int first_target) {
    const auto b = static_cast<int64_t>(rows.size());
    auto seq = torch::empty({b, kLen}, torch::kLong);
    auto acc = seq.accessor<int64_t, 2>();
    for (int64_t i = 0; i < b; ++i) {
      for (int t = 0; t < kLen; ++t) {
        acc[i][t] = data_.seqs[rows[i]][t];
      }
    }
    auto input = seq.narrow(1, 0, kLen - 1);
    auto target = seq.narrow(1, 1, kLen - 1);
    auto negatives = torch::randint(data_.items, {b, kLen - 1}, torch::kLong);
    auto mask = torch::zeros({b, kLen - 1});
    mask.narrow(1, first_target, kLen - 1 - first_target).fill_(1.0);
    adam_->zero_grad();
    auto loss = model_->BceLoss(model_->Encode(input), target, negatives, mask);
    loss.backward();
    adam_->step();
  }

  const Data& data_;
  base::Rng rng_;
  std::shared_ptr<TorchSasrec> model_;
  std::unique_ptr<torch::optim::Adam> adam_;
};

// ---- Interleaved timing ----------------------------------------------------------------------

// Per-call wall and CPU milliseconds (CPU: the process, all threads).
struct Timing {
  std::vector<double> wall, cpu;
};

// Calls fw(i) and th(i) alternately for i in [0, n], so both sides see the same machine load;
// call 0 of each is a warm-up and not recorded.
template <typename F, typename T>
void Interleave(int n, F&& fw, T&& th, Timing* fw_t, Timing* th_t) {
  auto timed = [](auto&& fn, int i, Timing* t) {
    const auto start = Clock::now();
    const double cpu = CpuSeconds();
    fn(static_cast<size_t>(i));
    if (i > 0) {
      t->cpu.push_back((CpuSeconds() - cpu) * 1000.0);
      t->wall.push_back(Ms(start));
    }
  };
  for (int i = 0; i <= n; ++i) {
    timed(fw, i, fw_t);
    timed(th, i, th_t);
  }
}

void Row(const char* what, double fw, double torch_value, const char* unit, bool higher_better) {
  const double ratio = higher_better ? fw / torch_value : torch_value / fw;
  std::printf("| %s | %.4g %s | %.4g %s | %.2fx |\n", what, fw, unit, torch_value, unit, ratio);
}

void LatencyRows(const char* what, const Timing& fw, const Timing& th) {
  const std::string w(what);
  Row((w + ", p50 wall").c_str(), Quantile(fw.wall, 0.5), Quantile(th.wall, 0.5), "ms", false);
  Row((w + ", p99 wall").c_str(), Quantile(fw.wall, 0.99), Quantile(th.wall, 0.99), "ms", false);
  Row((w + ", p50 CPU").c_str(), Quantile(fw.cpu, 0.5), Quantile(th.cpu, 0.5), "ms", false);
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
      "inference); torch %d.%d.%d; Flywheel and LibTorch calls interleaved\n",
      flags.dataset.empty() ? "synthetic" : flags.dataset.c_str(), data.seqs.size(), kLen,
      static_cast<long long>(data.items), flags.threads, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
      TORCH_VERSION_PATCH);
  torch::manual_seed(1);
  at::set_num_interop_threads(1);
  torch::set_num_threads(flags.threads);
  Timing fw_train, th_train;
  {
    FlywheelSide fw(data, flags.threads);
    TorchSide th(data);
    Interleave(
        flags.steps, [&](size_t) { fw.TrainBatch(); }, [&](size_t) { th.TrainBatch(); }, &fw_train,
        &th_train);
  }
  torch::set_num_threads(1);
  FlywheelSide fw(data, 1);
  TorchSide th(data);
  Timing fw_obs, th_obs, fw_b1, th_b1, fw_rec, th_rec;
  Interleave(
      flags.events, [&](size_t i) { fw.Observe(i); }, [&](size_t i) { th.Observe(i); }, &fw_obs,
      &th_obs);
  Interleave(
      flags.events, [&](size_t i) { fw.Batch1(i); }, [&](size_t i) { th.Batch1(i); }, &fw_b1,
      &th_b1);
  Interleave(
      flags.queries, [&](size_t i) { fw.Recommend(i); }, [&](size_t i) { th.Recommend(i); },
      &fw_rec, &th_rec);
  std::printf("| measure | Flywheel | LibTorch | Flywheel advantage |\n|---|---|---|---|\n");
  Row("(a) train, batch 128, median step, wall", kBatch * 1000.0 / Quantile(fw_train.wall, 0.5),
      kBatch * 1000.0 / Quantile(th_train.wall, 0.5), "seq/s", true);
  Row("(a) train, batch 128, median step, CPU", kBatch * 1000.0 / Quantile(fw_train.cpu, 0.5),
      kBatch * 1000.0 / Quantile(th_train.cpu, 0.5), "seq/CPU-s", true);
  LatencyRows("(b) online update (event + 1 replay)", fw_obs, th_obs);
  LatencyRows("(b') train step, batch 1, 50 targets", fw_b1, th_b1);
  LatencyRows("(c) one user, top 10 over the catalogue", fw_rec, th_rec);
  return 0;
}

}  // namespace
}  // namespace flywheel::bench

int main(int argc, char** argv) {
  return flywheel::bench::Main(argc, argv);
}
