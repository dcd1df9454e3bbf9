// Sasrec's training step: batch split over threads, forward, output loss, backward, gradient
// reduction in thread order, non-finite guard and Adam (see sasrec.h).
#include <algorithm>
#include <cmath>
#include <thread>

#include "model/sasrec.h"
#include "model/sasrec_internal.h"
#include "nn/gemm.h"
#include "nn/ops.h"

namespace flywheel::model {

void Sasrec::ThreadState::Touch(uint32_t row) {
  if (touched[row] == 0) {
    touched[row] = 1;
    touched_rows.push_back(row);
  }
}

void Sasrec::ThreadState::Fit(size_t num_rows, int dim) {
  item_grad.resize(num_rows * dim, 0.0f);
  touched.resize(num_rows, 0);
}

double Sasrec::TrainStep(std::span<const Example* const> examples, int threads, float lr) {
  const nn::ScopedFlushDenormals flush;  // fp_env.h: subnormals cost ~100x
  const int d = options_.encoder.dim;
  threads = std::max(1, std::min<int>(threads, static_cast<int>(examples.size())));
  while (threads_.size() < static_cast<size_t>(threads)) {
    threads_.push_back(std::make_unique<ThreadState>());
  }
  for (auto& ts : threads_) {
    ts->Fit(rows_, d);
  }
  int64_t targets = 0;
  for (const Example* e : examples) {
    targets += static_cast<int64_t>(e->items.size()) - 1 - e->first_target;
  }
  const uint64_t stream = streams_++;
  if (targets <= 0) {
    return 0.0;
  }
  std::vector<ItemIdx> shared;
  if (options_.loss == SasrecLoss::kSampled) {
    base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(stream * 64 + 63)));
    for (int j = 0; j < options_.negatives; ++j) {
      shared.push_back(SamplePopular(&rng));
    }
  }
  const float scale = 1.0f / static_cast<float>(targets);
  std::vector<double> losses(threads, 0.0);
  std::vector<std::thread> workers;
  const size_t per = (examples.size() + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const size_t begin = std::min(examples.size(), per * t);
    const size_t end = std::min(examples.size(), begin + per);
    auto work = [this, t, begin, end, examples, stream, &shared, scale, &losses] {
      const nn::ScopedFlushDenormals worker_flush;  // per thread
      losses[t] = SliceLossAndGrads(examples.subspan(begin, end - begin), stream * 64 + t, shared,
                                    scale, threads_[t].get());
    };
    if (t + 1 < threads) {
      workers.emplace_back(work);
    } else {
      work();
    }
  }
  for (auto& w : workers) {
    w.join();
  }
  double loss = 0;
  for (double l : losses) {
    loss += l;
  }
  const bool applied = ApplyGradients(lr, threads);
  return applied ? loss / static_cast<double>(targets) : NAN;
}

namespace {

// Sequences of a slice go through forward, loss and backward in chunks of about this many
// tokens: a chunk's activations (~8 KB per token over two blocks of dim 64) stay in the L2 cache
// between its forward and backward passes, where a whole batch's (tens of MB) would stream
// through memory. Encoder gradients accumulate over chunks, so the step is the same sum.
constexpr int kChunkTokens = 256;

}  // namespace

double Sasrec::SliceLossAndGrads(std::span<const Example* const> slice, uint64_t stream,
                                 const std::vector<ItemIdx>& shared_negatives, float scale,
                                 ThreadState* ts) const {
  const int d = options_.encoder.dim;
  const float in_scale = std::sqrt(static_cast<float>(d));
  base::Rng rng(base::Mix64(options_.seed ^ base::Mix64(stream)));
  double loss = 0;
  std::vector<int> lengths;
  size_t begin = 0;
  while (begin < slice.size()) {
    lengths.clear();
    ts->inputs.clear();
    size_t end = begin;
    int tokens = 0;
    while (end < slice.size() && (end == begin || tokens < kChunkTokens)) {
      const Example* e = slice[end++];
      const int t = static_cast<int>(e->items.size()) - 1;
      lengths.push_back(t);
      tokens += t;
      ts->inputs.insert(ts->inputs.end(), e->items.begin(), e->items.end() - 1);
    }
    const auto chunk = slice.subspan(begin, end - begin);
    begin = end;
    encoder_.Prepare(lengths, &ts->ws);
    const int n = ts->ws.tokens();
    // The loss reads the rows with a target only (online steps: the newest position): the
    // encoder's last block then skips the other rows' queries and FFN (same gradients).
    int offset = 0;
    for (const Example* e : chunk) {
      const int t = static_cast<int>(e->items.size()) - 1;
      for (int p = std::max(0, e->first_target); p < t; ++p) {
        ts->ws.out_rows.push_back(offset + p);
      }
      offset += t;
    }
    ts->x.resize(static_cast<size_t>(n) * d);
    nn::Gather(items_.data(), d, ts->inputs.data(), n, ts->x.data());
    for (float& v : ts->x) {
      v *= in_scale;
    }
    encoder_.Forward(ts->x.data(), step_rule_.dropout ? &rng : nullptr, &ts->ws);
    ts->dh.assign(static_cast<size_t>(n) * d, 0.0f);
    loss += OutputLoss(chunk, &rng, shared_negatives, scale, ts);
    encoder_.Backward(ts->dh.data(), &ts->ws);
    for (float& v : ts->ws.dx) {
      v *= in_scale;
    }
    nn::ScatterAdd(ts->ws.dx.data(), d, ts->inputs.data(), n, ts->item_grad.data());
    for (uint32_t item : ts->inputs) {
      ts->Touch(item);
    }
  }
  return loss;
}

double Sasrec::OutputLoss(std::span<const Example* const> slice, base::Rng* rng,
                          const std::vector<ItemIdx>& shared_negatives, float scale,
                          ThreadState* ts) const {
  const int d = options_.encoder.dim;
  // Rows of ws.out with a target, and their targets.
  ts->rows.clear();
  ts->targets.clear();
  int offset = 0;
  for (const Example* e : slice) {
    const int t = static_cast<int>(e->items.size()) - 1;
    for (int p = e->first_target; p < t; ++p) {
      ts->rows.push_back(offset + p);
      ts->targets.push_back(e->items[p + 1]);
    }
    offset += t;
  }
  const int m = static_cast<int>(ts->rows.size());
  ts->h.resize(static_cast<size_t>(m) * d);
  nn::Gather(ts->ws.out.data(), d, ts->rows.data(), m, ts->h.data());
  ts->dhr.assign(static_cast<size_t>(m) * d, 0.0f);
  double loss = 0;
  if (negative_targets_ != nullptr) {
    loss = NegativeLoss(scale, ts);
    nn::ScatterAdd(ts->dhr.data(), d, ts->rows.data(), m, ts->dh.data());
    return loss;
  }
  switch (options_.loss) {
    case SasrecLoss::kSoftmax:
      loss = SoftmaxLoss(scale, ts);
      break;
    case SasrecLoss::kSampled:
      loss = SampledLoss(shared_negatives, scale, ts);
      break;
    case SasrecLoss::kBce:
      loss = BceLoss(rng, scale, ts);
      break;
  }
  nn::ScatterAdd(ts->dhr.data(), d, ts->rows.data(), m, ts->dh.data());
  return loss;
}

bool Sasrec::ApplyGradients(float lr, int threads) {
  const int d = options_.encoder.dim;
  ThreadState& main = *threads_[0];
  for (int t = 1; t < threads; ++t) {
    ThreadState& other = *threads_[t];
    nn::AddInPlace(other.ws.grads.data(), static_cast<int64_t>(other.ws.grads.size()),
                   main.ws.grads.data());
    for (uint32_t row : other.touched_rows) {
      float* src = other.item_grad.data() + static_cast<int64_t>(row) * d;
      nn::AddInPlace(src, d, main.item_grad.data() + static_cast<int64_t>(row) * d);
      std::fill_n(src, d, 0.0f);
      other.touched[row] = 0;
      main.Touch(row);
    }
    other.touched_rows.clear();
    std::fill(other.ws.grads.begin(), other.ws.grads.end(), 0.0f);
  }
  bool finite = nn::AllFinite(main.ws.grads);
  for (uint32_t row : main.touched_rows) {
    finite = finite && nn::AllFinite(std::span<const float>(
                           main.item_grad.data() + static_cast<int64_t>(row) * d, d));
  }
  if (finite) {
    ++steps_;
    ++version_;
    nn::AdamOptions adam;
    adam.lr = lr;
    adam.weight_decay = options_.l2;
    std::sort(main.touched_rows.begin(), main.touched_rows.end());
    if (step_rule_.sgd) {
      if (!step_rule_.items_only) {
        nn::SgdStep(lr, options_.l2, main.ws.grads, encoder_.params());
      }
      nn::SgdStepRows(lr, options_.l2, d, main.touched_rows, main.item_grad, IdRows());
    } else {
      if (!step_rule_.items_only) {
        nn::AdamStep(adam, static_cast<int64_t>(steps_), main.ws.grads, encoder_.params(), enc_m_,
                     enc_v_);
      }
      nn::AdamStepRows(adam, static_cast<int64_t>(steps_), d, main.touched_rows, main.item_grad,
                       IdRows(), item_m_, item_v_);
    }
    if (step_rule_.anchor > 0) {
      PullToAnchor(main.touched_rows);
    }
    if (options_.content) {
      ContentStep(adam, main);
    }
    MarkDeltaStep(main.touched_rows, !step_rule_.items_only);
  } else {
    ++skipped_non_finite_;
  }
  for (uint32_t row : main.touched_rows) {
    std::fill_n(main.item_grad.data() + static_cast<int64_t>(row) * d, d, 0.0f);
    main.touched[row] = 0;
  }
  main.touched_rows.clear();
  std::fill(main.ws.grads.begin(), main.ws.grads.end(), 0.0f);
  return finite;
}

void Sasrec::PullToAnchor(std::span<const uint32_t> rows) {
  const float keep = 1.0f - step_rule_.anchor;
  if (!step_rule_.items_only && anchor_enc_.size() == encoder_.params().size()) {
    nn::PullTowards(anchor_enc_.data(), static_cast<int64_t>(anchor_enc_.size()), keep,
                    encoder_.params().data());
  }
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  std::vector<float>& table = IdRows();
  for (uint32_t row : rows) {
    const size_t at = static_cast<size_t>(row) * d;
    if (at + d <= anchor_items_.size()) {
      nn::PullTowards(anchor_items_.data() + at, static_cast<int64_t>(d), keep, table.data() + at);
    }
  }
}

}  // namespace flywheel::model

namespace flywheel::model {

double Sasrec::SoftmaxLoss(float scale, ThreadState* ts) const {
  const int d = options_.encoder.dim;
  const int m = static_cast<int>(ts->rows.size());
  const int n = static_cast<int>(rows_);
  ts->logits.resize(static_cast<size_t>(m) * n);
  nn::Gemm(false, true, m, n, d, 1.0f, ts->h.data(), d, items_.data(), d, 0.0f, ts->logits.data(),
           n);
  for (int r = 0; r < m; ++r) {
    for (int i = 0; i < n; ++i) {
      if (known_[i] == 0) {
        ts->logits[static_cast<size_t>(r) * n + i] = -1e30f;  // exp() = 0: not a candidate
      }
    }
  }
  const double loss = nn::SoftmaxCrossEntropy(ts->logits.data(), ts->targets.data(), m, n, scale,
                                              ts->logits.data());
  nn::Gemm(false, false, m, d, n, 1.0f, ts->logits.data(), n, items_.data(), d, 0.0f,
           ts->dhr.data(), d);
  nn::Gemm(true, false, n, d, m, 1.0f, ts->logits.data(), n, ts->h.data(), d, 1.0f,
           ts->item_grad.data(), d);
  for (int i = 0; i < n; ++i) {
    if (known_[i] != 0) {
      ts->Touch(static_cast<uint32_t>(i));
    }
  }
  return loss;
}

double Sasrec::SampledLoss(const std::vector<ItemIdx>& negatives, float scale,
                           ThreadState* ts) const {
  const int d = options_.encoder.dim;
  const int m = static_cast<int>(ts->rows.size());
  const int s = static_cast<int>(negatives.size());
  ts->er.resize(static_cast<size_t>(s) * d);
  nn::Gather(items_.data(), d, negatives.data(), s, ts->er.data());
  ts->neg.resize(static_cast<size_t>(m) * s);
  nn::Gemm(false, true, m, s, d, 1.0f, ts->h.data(), d, ts->er.data(), d, 0.0f, ts->neg.data(), s);
  ts->pos.resize(m);
  ts->pos_logq.resize(m);
  ts->neg_logq.resize(static_cast<size_t>(m) * s);
  ts->hit.resize(static_cast<size_t>(m) * s);
  for (int r = 0; r < m; ++r) {
    const float* e = items_.data() + static_cast<size_t>(ts->targets[r]) * d;
    ts->pos[r] = nn::Dot(ts->h.data() + static_cast<size_t>(r) * d, e, d);
    ts->pos_logq[r] = LogQ(ts->targets[r]);
    for (int j = 0; j < s; ++j) {
      ts->neg_logq[static_cast<size_t>(r) * s + j] = LogQ(negatives[j]);
      ts->hit[static_cast<size_t>(r) * s + j] = negatives[j] == ts->targets[r] ? 1 : 0;
    }
  }
  ts->dpos.resize(m);
  ts->dneg.resize(static_cast<size_t>(m) * s);
  const double loss = nn::SampledSoftmaxLoss(ts->pos.data(), ts->neg.data(), ts->pos_logq.data(),
                                             ts->neg_logq.data(), ts->hit.data(), m, s, scale,
                                             ts->dpos.data(), ts->dneg.data());
  // d/dh = dneg E_S + dpos E_target; dE_S += dneg^T h; dE_target += dpos h.
  nn::Gemm(false, false, m, d, s, 1.0f, ts->dneg.data(), s, ts->er.data(), d, 0.0f, ts->dhr.data(),
           d);
  ts->logits.assign(static_cast<size_t>(s) * d, 0.0f);
  nn::Gemm(true, false, s, d, m, 1.0f, ts->dneg.data(), s, ts->h.data(), d, 0.0f, ts->logits.data(),
           d);
  nn::ScatterAdd(ts->logits.data(), d, negatives.data(), s, ts->item_grad.data());
  for (ItemIdx item : negatives) {
    ts->Touch(item);
  }
  AddTargetGradients(ts);
  return loss;
}

// dh += dpos * E_target; dE_target += dpos * h (rows of ts->rows).
void Sasrec::AddTargetGradients(ThreadState* ts) const {
  const int d = options_.encoder.dim;
  for (size_t r = 0; r < ts->rows.size(); ++r) {
    const float g = ts->dpos[r];
    const float* e = items_.data() + static_cast<size_t>(ts->targets[r]) * d;
    float* ge = ts->item_grad.data() + static_cast<size_t>(ts->targets[r]) * d;
    nn::Axpy(g, e, d, ts->dhr.data() + r * d);
    nn::Axpy(g, ts->h.data() + r * d, d, ge);
    ts->Touch(ts->targets[r]);
  }
}

double Sasrec::BceLoss(base::Rng* rng, float scale, ThreadState* ts) const {
  const int d = options_.encoder.dim;
  const int m = static_cast<int>(ts->rows.size());
  const int s = options_.negatives;
  ts->pos.resize(m);
  ts->neg.resize(static_cast<size_t>(m) * s);
  ts->neg_items.resize(static_cast<size_t>(m) * s);
  for (int r = 0; r < m; ++r) {
    const float* h = ts->h.data() + static_cast<size_t>(r) * d;
    const float* e = items_.data() + static_cast<size_t>(ts->targets[r]) * d;
    ts->pos[r] = nn::Dot(h, e, d);
    for (int j = 0; j < s; ++j) {
      ItemIdx neg = SampleKnown(rng);
      for (int retry = 0; retry < 3 && neg == ts->targets[r]; ++retry) {
        neg = SampleKnown(rng);
      }
      ts->neg_items[static_cast<size_t>(r) * s + j] = neg;
      ts->neg[static_cast<size_t>(r) * s + j] =
          nn::Dot(h, items_.data() + static_cast<size_t>(neg) * d, d);
    }
  }
  ts->dpos.resize(m);
  ts->dneg.resize(static_cast<size_t>(m) * s);
  const double loss = nn::BceWithNegatives(ts->pos.data(), ts->neg.data(), m, s, scale,
                                           ts->dpos.data(), ts->dneg.data());
  for (int r = 0; r < m; ++r) {
    const float* h = ts->h.data() + static_cast<size_t>(r) * d;
    for (int j = 0; j < s; ++j) {
      const ItemIdx neg = ts->neg_items[static_cast<size_t>(r) * s + j];
      const float g = ts->dneg[static_cast<size_t>(r) * s + j];
      const float* en = items_.data() + static_cast<size_t>(neg) * d;
      float* ge = ts->item_grad.data() + static_cast<size_t>(neg) * d;
      nn::Axpy(g, en, d, ts->dhr.data() + static_cast<size_t>(r) * d);
      nn::Axpy(g, h, d, ge);
      ts->Touch(neg);
    }
  }
  AddTargetGradients(ts);
  return loss;
}

double Sasrec::NegativeLoss(float scale, ThreadState* ts) const {
  const int d = options_.encoder.dim;
  double loss = 0;
  for (size_t r = 0; r < ts->rows.size(); ++r) {
    const float* h = ts->h.data() + r * d;
    for (const auto& [item, weight] : *negative_targets_) {
      const float* e = items_.data() + static_cast<size_t>(item) * d;
      const float x = nn::Dot(h, e, d);
      // -log sigmoid(-x) = softplus(x), computed without overflow; d/dx = sigmoid(x).
      const double softplus = x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      loss += weight * scale * softplus;
      const float g = weight * scale / (1.0f + std::exp(-x));
      nn::Axpy(g, e, d, ts->dhr.data() + r * d);
      nn::Axpy(g, h, d, ts->item_grad.data() + static_cast<size_t>(item) * d);
      ts->Touch(item);
    }
  }
  return loss;
}

}  // namespace flywheel::model
