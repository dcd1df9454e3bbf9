// SequenceEncoder: the SASRec transformer stack on our kernels. Input: a batch of sequences of
// item embedding rows (tokens stacked, sequence s owning rows [offsets[s], offsets[s+1])), at
// most max_len tokens each. Per token: x = item row + learned position (the last token of every
// sequence at position max_len - 1, as in SASRec's left padding), dropout; then `blocks` times
// (pre-LN):
//   x = x + Dropout(CausalMHA(LN1(x)) Wo + bo)      (fused QKV projection, `heads` heads)
//   x = x + Dropout(Act(LN2(x) W1 + b1) W2 + b2)     (Act = ReLU or GELU, hidden = dim)
// and a final LN. Output: N x dim hidden states; token t's state depends on tokens <= t only.
//
// Parameters (positions and all block weights, not the item table) live in one flat vector
// (params()) so that Adam, snapshots and gradient checks see one array. Activations and the
// gradient buffer live in an EncoderWorkspace owned by the caller: Forward/Backward are const,
// so several threads may run them concurrently on one encoder, each with its own workspace.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/random.h"

namespace flywheel::nn {

struct EncoderConfig {
  int dim = 64;
  int heads = 1;
  int blocks = 2;
  int max_len = 50;
  float dropout = 0.2f;
  bool gelu = false;
};

struct EncoderWorkspace {
  struct Block {
    std::vector<float> x_in, h1, mean1, rstd1, qkv, probs, attn, mask1, x_mid, h2, mean2, rstd2,
        f_pre, f_act, mask2;
  };
  std::vector<int> offsets;    // sequence starts, num_sequences + 1 entries
  std::vector<int> positions;  // per token
  std::vector<int64_t> prob_offsets;
  std::vector<float> mask0, x_final, meanf, rstdf, out;
  std::vector<Block> blocks;
  std::vector<float> grads;  // d(loss)/d(params), accumulated by Backward
  std::vector<float> dx;     // d(loss)/d(input rows), written by Backward
  std::vector<float> t1, t2, t3, scratch;
  // Optional, set by the caller after Prepare (which clears it): the token rows whose outputs
  // the loss uses, ascending. When it names fewer rows than all, the last block computes its
  // attention queries, output projection, FFN and the final layer norm on these rows only (its
  // keys and values, and every earlier block, on all rows): `out` is then valid on these rows
  // only and Backward reads `dout` on these rows only. Gradients are those of the full pass (the
  // skipped rows do not reach the loss); dropout masks of the last block are drawn for these rows.
  std::vector<int> out_rows;
  // Pruned last block: per output row its attention weights (heads x max_len) and compact rows
  // (out_rows x dim) of the block input, the final output and d(loss)/d(block output).
  std::vector<float> tail_probs, tail_x_in, tail_out, tail_dx;
  int tokens() const { return offsets.empty() ? 0 : offsets.back(); }
};

class SequenceEncoder {
 public:
  explicit SequenceEncoder(const EncoderConfig& config);

  // Layer norms gamma = 1, beta = 0; biases 0; matrices ~ normal(0, 1/sqrt(fan_in)) times
  // `scale`; positions ~ normal(0, init_std).
  void Init(base::Rng* rng, float init_std);

  const EncoderConfig& config() const { return config_; }
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }

  // Sets ws->offsets from sequence lengths (each in [1, max_len]) and sizes the workspace.
  void Prepare(std::span<const int> lengths, EncoderWorkspace* ws) const;
  // x: tokens x dim input rows. Fills ws->out. Dropout only when `rng` is non-null.
  void Forward(const float* x, base::Rng* rng, EncoderWorkspace* ws) const;
  // dout: tokens x dim. Accumulates ws->grads (sized to params, zero it yourself between steps),
  // writes ws->dx.
  void Backward(const float* dout, EncoderWorkspace* ws) const;

  // Attention weights of the last block for sequence 0's last token, averaged over heads (valid
  // after Forward): weight per input token.
  std::vector<float> LastAttention(const EncoderWorkspace& ws) const;

 private:
  struct BlockOffsets {
    size_t ln1_g, ln1_b, wqkv, bqkv, wo, bo, ln2_g, ln2_b, w1, b1, w2, b2;
  };
  const float* P(size_t offset) const { return params_.data() + offset; }
  static bool Pruned(const EncoderWorkspace& ws);
  void BlockForward(int b, const float* x_in, base::Rng* rng, EncoderWorkspace* ws,
                    float* x_out) const;
  // Output projection, residual, LN2, FFN, residual on `rows` rows (attention output in
  // blk.attn, block input x_in, both rows x dim).
  void PostAttention(int b, int rows, const float* x_in, base::Rng* rng, EncoderWorkspace* ws,
                     float* x_out) const;
  void PrunedLastBlockForward(const float* x_in, base::Rng* rng, EncoderWorkspace* ws) const;
  void AttentionBackward(int b, const float* dx_in_out, EncoderWorkspace* ws, float* dx_mid) const;
  // dx (rows x dim): on entry d/d(block output), on exit d/d(x_mid) (FFN branch added).
  void FfnBackward(int b, int rows, float* dx, EncoderWorkspace* ws) const;
  void BlockBackward(int b, float* dx, EncoderWorkspace* ws) const;
  // Writes ws->dx = d/d(last block input) from dout on ws->out_rows.
  void PrunedLastBlockBackward(const float* dout, EncoderWorkspace* ws) const;

  EncoderConfig config_;
  size_t pos_ = 0, lnf_g_ = 0, lnf_b_ = 0;
  std::vector<BlockOffsets> block_;
  std::vector<float> params_;
};

// Y (rows x n) = X (rows x k) W (k x n) + bias (n).
void Linear(const float* x, const float* w, const float* bias, int rows, int k, int n, float* y);
// Backward of Linear: dw += X^T dY, dbias += colsum(dY), dx = dY W^T (dx nullable).
void LinearBackward(const float* x, const float* w, const float* dy, int rows, int k, int n,
                    float* dx, float* dw, float* dbias);

}  // namespace flywheel::nn
