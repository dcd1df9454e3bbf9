#include "nn/encoder.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"
#include "nn/gemm.h"
#include "nn/ops.h"

namespace flywheel::nn {

void Linear(const float* x, const float* w, const float* bias, int rows, int k, int n, float* y) {
  GemmBias(rows, n, k, x, w, bias, y);
}

void LinearBackward(const float* x, const float* w, const float* dy, int rows, int k, int n,
                    float* dx, float* dw, float* dbias) {
  ColumnSumAdd(dy, rows, n, dbias);
  Gemm(true, false, k, n, rows, 1.0f, x, k, dy, n, 1.0f, dw, n);
  if (dx != nullptr) {
    Gemm(false, true, rows, k, n, 1.0f, dy, n, w, n, 0.0f, dx, k);
  }
}

SequenceEncoder::SequenceEncoder(const EncoderConfig& config) : config_(config) {
  const size_t d = static_cast<size_t>(config.dim);
  size_t at = 0;
  auto take = [&at](size_t n) {
    const size_t start = at;
    at += n;
    return start;
  };
  pos_ = take(static_cast<size_t>(config.max_len) * d);
  for (int b = 0; b < config.blocks; ++b) {
    BlockOffsets o{};
    o.ln1_g = take(d);
    o.ln1_b = take(d);
    o.wqkv = take(d * 3 * d);
    o.bqkv = take(3 * d);
    o.wo = take(d * d);
    o.bo = take(d);
    o.ln2_g = take(d);
    o.ln2_b = take(d);
    o.w1 = take(d * d);
    o.b1 = take(d);
    o.w2 = take(d * d);
    o.b2 = take(d);
    block_.push_back(o);
  }
  lnf_g_ = take(d);
  lnf_b_ = take(d);
  params_.assign(at, 0.0f);
}

void SequenceEncoder::Init(base::Rng* rng, float init_std) {
  const size_t d = static_cast<size_t>(config_.dim);
  std::fill(params_.begin(), params_.end(), 0.0f);
  auto normal = [&](size_t offset, size_t n, double std) {
    for (size_t i = 0; i < n; ++i) {
      params_[offset + i] = static_cast<float>(rng->Normal() * std);
    }
  };
  normal(pos_, config_.max_len * d, init_std);
  const double s = 1.0 / std::sqrt(static_cast<double>(d));
  for (const BlockOffsets& o : block_) {
    std::fill_n(params_.begin() + static_cast<int64_t>(o.ln1_g), d, 1.0f);
    std::fill_n(params_.begin() + static_cast<int64_t>(o.ln2_g), d, 1.0f);
    normal(o.wqkv, d * 3 * d, s);
    normal(o.wo, d * d, s);
    normal(o.w1, d * d, s);
    normal(o.w2, d * d, s);
  }
  std::fill_n(params_.begin() + static_cast<int64_t>(lnf_g_), d, 1.0f);
}

void SequenceEncoder::Prepare(std::span<const int> lengths, EncoderWorkspace* ws) const {
  const int d = config_.dim;
  ws->offsets.assign(1, 0);
  ws->positions.clear();
  ws->prob_offsets.assign(1, 0);
  for (int len : lengths) {
    FLYWHEEL_CHECK(len >= 1 && len <= config_.max_len);
    ws->offsets.push_back(ws->offsets.back() + len);
    for (int t = 0; t < len; ++t) {
      ws->positions.push_back(config_.max_len - len + t);
    }
    ws->prob_offsets.push_back(ws->prob_offsets.back() +
                               static_cast<int64_t>(config_.heads) * len * len);
  }
  const size_t nd = static_cast<size_t>(ws->tokens()) * d;
  const size_t n = static_cast<size_t>(ws->tokens());
  ws->blocks.resize(config_.blocks);
  for (auto& blk : ws->blocks) {
    for (auto* v : {&blk.x_in, &blk.h1, &blk.attn, &blk.mask1, &blk.x_mid, &blk.h2, &blk.f_pre,
                    &blk.f_act, &blk.mask2}) {
      v->resize(nd);
    }
    blk.qkv.resize(3 * nd);
    blk.probs.resize(static_cast<size_t>(ws->prob_offsets.back()));
    for (auto* v : {&blk.mean1, &blk.rstd1, &blk.mean2, &blk.rstd2}) {
      v->resize(n);
    }
  }
  for (auto* v : {&ws->mask0, &ws->x_final, &ws->out, &ws->dx, &ws->t1, &ws->t2}) {
    v->resize(nd);
  }
  ws->t3.resize(3 * nd);
  ws->meanf.resize(n);
  ws->rstdf.resize(n);
  int max_len = 1;
  for (int len : lengths) {
    max_len = std::max(max_len, len);
  }
  ws->scratch.resize(static_cast<size_t>(max_len) * max_len);
  ws->grads.resize(params_.size());
  ws->out_rows.clear();
}

bool SequenceEncoder::Pruned(const EncoderWorkspace& ws) {
  return !ws.out_rows.empty() && static_cast<int>(ws.out_rows.size()) < ws.tokens() &&
         !ws.blocks.empty();
}

void SequenceEncoder::Forward(const float* x, base::Rng* rng, EncoderWorkspace* ws) const {
  const int d = config_.dim;
  const int n = ws->tokens();
  const int64_t nd = static_cast<int64_t>(n) * d;
  float* x0 = ws->t1.data();
  for (int r = 0; r < n; ++r) {
    const float* pos = P(pos_) + static_cast<int64_t>(ws->positions[r]) * d;
    for (int c = 0; c < d; ++c) {
      x0[static_cast<int64_t>(r) * d + c] = x[static_cast<int64_t>(r) * d + c] + pos[c];
    }
  }
  const float p = rng != nullptr ? config_.dropout : 0.0f;
  float* first = config_.blocks > 0 ? ws->blocks[0].x_in.data() : ws->x_final.data();
  DropoutForward(x0, nd, p, rng, ws->mask0.data(), first);
  const bool pruned = Pruned(*ws);
  for (int b = 0; b < config_.blocks; ++b) {
    if (pruned && b + 1 == config_.blocks) {
      PrunedLastBlockForward(ws->blocks[b].x_in.data(), rng, ws);
      return;
    }
    float* x_out = b + 1 < config_.blocks ? ws->blocks[b + 1].x_in.data() : ws->x_final.data();
    BlockForward(b, ws->blocks[b].x_in.data(), rng, ws, x_out);
  }
  LayerNormForward(ws->x_final.data(), P(lnf_g_), P(lnf_b_), n, d, ws->out.data(), ws->meanf.data(),
                   ws->rstdf.data());
}

void SequenceEncoder::BlockForward(int b, const float* x_in, base::Rng* rng, EncoderWorkspace* ws,
                                   float* x_out) const {
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = ws->tokens();
  LayerNormForward(x_in, P(o.ln1_g), P(o.ln1_b), n, d, blk.h1.data(), blk.mean1.data(),
                   blk.rstd1.data());
  Linear(blk.h1.data(), P(o.wqkv), P(o.bqkv), n, d, 3 * d, blk.qkv.data());
  for (size_t s = 0; s + 1 < ws->offsets.size(); ++s) {
    const int start = ws->offsets[s];
    CausalAttentionForward(blk.qkv.data() + static_cast<int64_t>(start) * 3 * d,
                           ws->offsets[s + 1] - start, d, config_.heads,
                           blk.probs.data() + ws->prob_offsets[s],
                           blk.attn.data() + static_cast<int64_t>(start) * d);
  }
  PostAttention(b, n, x_in, rng, ws, x_out);
}

void SequenceEncoder::PostAttention(int b, int rows, const float* x_in, base::Rng* rng,
                                    EncoderWorkspace* ws, float* x_out) const {
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = rows;
  const int64_t nd = static_cast<int64_t>(n) * d;
  const float p = rng != nullptr ? config_.dropout : 0.0f;
  float* tmp = ws->t2.data();
  Linear(blk.attn.data(), P(o.wo), P(o.bo), n, d, d, tmp);
  DropoutResidualForward(tmp, x_in, nd, p, rng, blk.mask1.data(), blk.x_mid.data());
  LayerNormForward(blk.x_mid.data(), P(o.ln2_g), P(o.ln2_b), n, d, blk.h2.data(), blk.mean2.data(),
                   blk.rstd2.data());
  Linear(blk.h2.data(), P(o.w1), P(o.b1), n, d, d, blk.f_pre.data());
  if (config_.gelu) {
    GeluForward(blk.f_pre.data(), nd, blk.f_act.data());
  } else {
    ReluForward(blk.f_pre.data(), nd, blk.f_act.data());
  }
  Linear(blk.f_act.data(), P(o.w2), P(o.b2), n, d, d, tmp);
  DropoutResidualForward(tmp, blk.x_mid.data(), nd, p, rng, blk.mask2.data(), x_out);
}

void SequenceEncoder::Backward(const float* dout, EncoderWorkspace* ws) const {
  const int d = config_.dim;
  const int n = ws->tokens();
  const int64_t nd = static_cast<int64_t>(n) * d;
  float* g = ws->grads.data();
  float* dx = ws->dx.data();  // running d(loss)/d(residual stream)
  int last = config_.blocks - 1;
  if (Pruned(*ws)) {
    PrunedLastBlockBackward(dout, ws);
    --last;
  } else {
    LayerNormBackward(ws->x_final.data(), P(lnf_g_), ws->meanf.data(), ws->rstdf.data(), dout, n, d,
                      dx, g + lnf_g_, g + lnf_b_);
  }
  for (int b = last; b >= 0; --b) {
    BlockBackward(b, dx, ws);
  }
  DropoutBackward(ws->mask0.data(), dx, nd, dx);
  for (int r = 0; r < n; ++r) {
    AddInPlace(dx + static_cast<int64_t>(r) * d, d,
               g + pos_ + static_cast<int64_t>(ws->positions[r]) * d);
  }
}

// dx: on entry d(loss)/d(block output); on exit d(loss)/d(block input).
void SequenceEncoder::BlockBackward(int b, float* dx, EncoderWorkspace* ws) const {
  FfnBackward(b, ws->tokens(), dx, ws);
  AttentionBackward(b, dx, ws, dx);
}

void SequenceEncoder::FfnBackward(int b, int rows, float* dx, EncoderWorkspace* ws) const {
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = rows;
  const int64_t nd = static_cast<int64_t>(n) * d;
  float* g = ws->grads.data();
  float* t1 = ws->t1.data();
  float* t2 = ws->t2.data();
  // FFN branch: x_out = x_mid + drop(f).
  DropoutBackward(blk.mask2.data(), dx, nd, t1);
  LinearBackward(blk.f_act.data(), P(o.w2), t1, n, d, d, t2, g + o.w2, g + o.b2);
  if (config_.gelu) {
    GeluBackward(blk.f_pre.data(), t2, nd, t2);
  } else {
    ReluBackward(blk.f_pre.data(), t2, nd, t2);
  }
  LinearBackward(blk.h2.data(), P(o.w1), t2, n, d, d, t1, g + o.w1, g + o.b1);
  LayerNormBackward(blk.x_mid.data(), P(o.ln2_g), blk.mean2.data(), blk.rstd2.data(), t1, n, d, t2,
                    g + o.ln2_g, g + o.ln2_b);
  AddInPlace(t2, nd, dx);  // dx = d/d(x_mid)
}

void SequenceEncoder::AttentionBackward(int b, const float* dx_in_out, EncoderWorkspace* ws,
                                        float* dx_mid) const {
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = ws->tokens();
  const int64_t nd = static_cast<int64_t>(n) * d;
  float* g = ws->grads.data();
  float* t1 = ws->t1.data();
  float* t2 = ws->t2.data();
  float* dqkv = ws->t3.data();
  DropoutBackward(blk.mask1.data(), dx_in_out, nd, t1);
  LinearBackward(blk.attn.data(), P(o.wo), t1, n, d, d, t2, g + o.wo, g + o.bo);
  for (size_t s = 0; s + 1 < ws->offsets.size(); ++s) {
    const int start = ws->offsets[s];
    CausalAttentionBackward(blk.qkv.data() + static_cast<int64_t>(start) * 3 * d,
                            blk.probs.data() + ws->prob_offsets[s],
                            t2 + static_cast<int64_t>(start) * d, ws->offsets[s + 1] - start, d,
                            config_.heads, ws->scratch.data(),
                            dqkv + static_cast<int64_t>(start) * 3 * d);
  }
  LinearBackward(blk.h1.data(), P(o.wqkv), dqkv, n, d, 3 * d, t1, g + o.wqkv, g + o.bqkv);
  LayerNormBackward(blk.x_in.data(), P(o.ln1_g), blk.mean1.data(), blk.rstd1.data(), t1, n, d, t2,
                    g + o.ln1_g, g + o.ln1_b);
  AddInPlace(t2, nd, dx_mid);
}

namespace {

// Causal attention of the one query row i of a sequence (qkv: its rows, t >= i + 1 of them, 3d
// floats each) onto keys 0..i. probs: heads x stride (weights 0..i written); out: d floats.
void AttentionRow(const float* qkv, int i, int d, int heads, int stride, float* probs, float* out) {
  const int dh = d / heads;
  const int64_t dd = d;
  const int64_t ld = 3 * dd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int h = 0; h < heads; ++h) {
    const float* q = qkv + i * ld + static_cast<int64_t>(h) * dh;
    float* p = probs + static_cast<int64_t>(h) * stride;
    for (int j = 0; j <= i; ++j) {
      p[j] = scale * Dot(q, qkv + j * ld + d + static_cast<int64_t>(h) * dh, dh);
    }
    SoftmaxRows(p, 1, i + 1);
    float* o = out + static_cast<int64_t>(h) * dh;
    std::fill_n(o, dh, 0.0f);
    for (int j = 0; j <= i; ++j) {
      Axpy(p[j], qkv + j * ld + 2 * dd + static_cast<int64_t>(h) * dh, dh, o);
    }
  }
}

// Backward of AttentionRow: accumulates into dqkv (the sequence's rows, 3d floats each) from
// dout (d floats); scratch: i + 1 floats.
void AttentionRowBackward(const float* qkv, const float* probs, const float* dout, int i, int d,
                          int heads, int stride, float* scratch, float* dqkv) {
  const int dh = d / heads;
  const int64_t dd = d;
  const int64_t ld = 3 * dd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  for (int h = 0; h < heads; ++h) {
    const int64_t hc = static_cast<int64_t>(h) * dh;
    const float* p = probs + static_cast<int64_t>(h) * stride;
    const float* q = qkv + i * ld + hc;
    const float* dout_h = dout + hc;
    float dot = 0;
    for (int j = 0; j <= i; ++j) {
      scratch[j] = Dot(dout_h, qkv + j * ld + 2 * dd + hc, dh);  // dP
      dot += scratch[j] * p[j];
    }
    for (int j = 0; j <= i; ++j) {
      const float ds = p[j] * (scratch[j] - dot) * scale;
      Axpy(p[j], dout_h, dh, dqkv + j * ld + 2 * dd + hc);      // dV
      Axpy(ds, qkv + j * ld + d + hc, dh, dqkv + i * ld + hc);  // dQ
      Axpy(ds, q, dh, dqkv + j * ld + d + hc);                  // dK
    }
  }
}

// The start of the sequence holding token row r (offsets ascending; *s advanced monotonically).
int SequenceStart(const std::vector<int>& offsets, int r, size_t* s) {
  while (offsets[*s + 1] <= r) {
    ++*s;
  }
  return offsets[*s];
}

}  // namespace

void SequenceEncoder::PrunedLastBlockForward(const float* x_in, base::Rng* rng,
                                             EncoderWorkspace* ws) const {
  const int b = config_.blocks - 1;
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = ws->tokens();
  const int m = static_cast<int>(ws->out_rows.size());
  const int stride = config_.heads * config_.max_len;
  LayerNormForward(x_in, P(o.ln1_g), P(o.ln1_b), n, d, blk.h1.data(), blk.mean1.data(),
                   blk.rstd1.data());
  Linear(blk.h1.data(), P(o.wqkv), P(o.bqkv), n, d, 3 * d, blk.qkv.data());
  ws->tail_probs.resize(static_cast<size_t>(m) * stride);
  ws->tail_x_in.resize(static_cast<size_t>(m) * d);
  ws->tail_out.resize(static_cast<size_t>(m) * d);
  size_t s = 0;
  for (int k = 0; k < m; ++k) {
    const int r = ws->out_rows[k];
    const int start = SequenceStart(ws->offsets, r, &s);
    AttentionRow(blk.qkv.data() + static_cast<int64_t>(start) * 3 * d, r - start, d, config_.heads,
                 config_.max_len, ws->tail_probs.data() + static_cast<int64_t>(k) * stride,
                 blk.attn.data() + static_cast<int64_t>(k) * d);
    std::copy_n(x_in + static_cast<int64_t>(r) * d, d,
                ws->tail_x_in.data() + static_cast<int64_t>(k) * d);
  }
  PostAttention(b, m, ws->tail_x_in.data(), rng, ws, ws->x_final.data());
  LayerNormForward(ws->x_final.data(), P(lnf_g_), P(lnf_b_), m, d, ws->tail_out.data(),
                   ws->meanf.data(), ws->rstdf.data());
  for (int k = 0; k < m; ++k) {
    std::copy_n(ws->tail_out.data() + static_cast<int64_t>(k) * d, d,
                ws->out.data() + static_cast<int64_t>(ws->out_rows[k]) * d);
  }
}

void SequenceEncoder::PrunedLastBlockBackward(const float* dout, EncoderWorkspace* ws) const {
  const int b = config_.blocks - 1;
  const BlockOffsets& o = block_[b];
  EncoderWorkspace::Block& blk = ws->blocks[b];
  const int d = config_.dim;
  const int n = ws->tokens();
  const int m = static_cast<int>(ws->out_rows.size());
  const int stride = config_.heads * config_.max_len;
  const int64_t md = static_cast<int64_t>(m) * d;
  float* g = ws->grads.data();
  float* t1 = ws->t1.data();
  float* t2 = ws->t2.data();
  float* dqkv = ws->t3.data();
  ws->tail_dx.resize(static_cast<size_t>(md));
  float* dxc = ws->tail_dx.data();  // d/d(compact block output), then d/d(compact x_mid)
  for (int k = 0; k < m; ++k) {
    std::copy_n(dout + static_cast<int64_t>(ws->out_rows[k]) * d, d,
                t2 + static_cast<int64_t>(k) * d);
  }
  LayerNormBackward(ws->x_final.data(), P(lnf_g_), ws->meanf.data(), ws->rstdf.data(), t2, m, d,
                    dxc, g + lnf_g_, g + lnf_b_);
  FfnBackward(b, m, dxc, ws);
  DropoutBackward(blk.mask1.data(), dxc, md, t1);
  LinearBackward(blk.attn.data(), P(o.wo), t1, m, d, d, t2, g + o.wo, g + o.bo);
  std::fill_n(dqkv, static_cast<int64_t>(n) * 3 * d, 0.0f);
  size_t s = 0;
  for (int k = 0; k < m; ++k) {
    const int r = ws->out_rows[k];
    const int start = SequenceStart(ws->offsets, r, &s);
    AttentionRowBackward(blk.qkv.data() + static_cast<int64_t>(start) * 3 * d,
                         ws->tail_probs.data() + static_cast<int64_t>(k) * stride,
                         t2 + static_cast<int64_t>(k) * d, r - start, d, config_.heads,
                         config_.max_len, ws->scratch.data(),
                         dqkv + static_cast<int64_t>(start) * 3 * d);
  }
  LinearBackward(blk.h1.data(), P(o.wqkv), dqkv, n, d, 3 * d, t1, g + o.wqkv, g + o.bqkv);
  float* dx = ws->dx.data();
  LayerNormBackward(blk.x_in.data(), P(o.ln1_g), blk.mean1.data(), blk.rstd1.data(), t1, n, d, dx,
                    g + o.ln1_g, g + o.ln1_b);
  for (int k = 0; k < m; ++k) {  // the residual x_mid = x_in + ... on the output rows
    AddInPlace(dxc + static_cast<int64_t>(k) * d, d,
               dx + static_cast<int64_t>(ws->out_rows[k]) * d);
  }
}

std::vector<float> SequenceEncoder::LastAttention(const EncoderWorkspace& ws) const {
  const int t = ws.offsets[1];
  std::vector<float> weights(t, 0.0f);
  if (config_.blocks == 0) {
    return weights;
  }
  const auto& probs = ws.blocks.back().probs;
  for (int h = 0; h < config_.heads; ++h) {
    const float* row =
        probs.data() + static_cast<int64_t>(h) * t * t + static_cast<int64_t>(t - 1) * t;
    for (int j = 0; j < t; ++j) {
      weights[j] += row[j] / static_cast<float>(config_.heads);
    }
  }
  return weights;
}

}  // namespace flywheel::nn
